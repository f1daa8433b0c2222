namespace CoapEnroll.Bench;

/// <summary>What a <see cref="LoadGroup"/> sends and receives one client's datagrams through: a UDP socket or a DTLS session.</summary>
internal interface ILoadTransport : IAsyncDisposable
{
    /// <summary>Sends one datagram; the caller does not touch it afterwards.</summary>
    ValueTask SendAsync(byte[] datagram, CancellationToken cancellationToken);

    /// <summary>Receives the next datagram; returns its length.</summary>
    ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken);
}
