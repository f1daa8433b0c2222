using System.Net;
using CoapEnroll.Transport;

namespace CoapEnroll.Coap.Tests.BlockWise;

/// <summary>
/// A clock that can be moved forward: timestamps and wall-clock time get an offset, while timers stay
/// on real time, so the endpoint's retransmission and timeout waits keep working during a test.
/// </summary>
internal sealed class AdjustableTimeProvider : TimeProvider
{
    private long _offsetTicks;

    public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, (long)(by.TotalSeconds * TimestampFrequency));

    public override long GetTimestamp() => base.GetTimestamp() + Interlocked.Read(ref _offsetTicks);

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + TimeSpan.FromSeconds((double)Interlocked.Read(ref _offsetTicks) / TimestampFrequency);
}

/// <summary>A channel that carries nothing: an endpoint for invoking handlers directly.</summary>
internal sealed class NullDatagramChannel(int maxDatagramSize = UdpDatagramChannel.DefaultMaxDatagramSize) : IDatagramChannel
{
    public EndPoint LocalEndPoint { get; } = new IPEndPoint(IPAddress.Loopback, 5683);

    public int MaxDatagramSize { get; } = maxDatagramSize;

    public async ValueTask<DatagramReceiveResult> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        await Task.Delay(Timeout.Infinite, cancellationToken);
        throw new OperationCanceledException(cancellationToken);
    }

    public ValueTask SendAsync(ReadOnlyMemory<byte> datagram, EndPoint remoteEndPoint, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>An inner handler from a delegate that counts its calls and keeps the requests it saw.</summary>
internal sealed class RecordingHandler(Func<CoapRequestContext, CoapMessage> respond) : ICoapRequestHandler
{
    private readonly List<CoapMessage> _requests = [];

    public int Calls
    {
        get
        {
            lock (_requests)
            {
                return _requests.Count;
            }
        }
    }

    public IReadOnlyList<CoapMessage> Requests
    {
        get
        {
            lock (_requests)
            {
                return [.. _requests];
            }
        }
    }

    public ValueTask<CoapMessage> HandleAsync(CoapRequestContext context, CancellationToken cancellationToken)
    {
        lock (_requests)
        {
            _requests.Add(context.Request);
        }

        return ValueTask.FromResult(respond(context));
    }
}

/// <summary>Wraps a handler and records every request that reaches it (what came over the wire).</summary>
internal sealed class WireRecorder(ICoapRequestHandler inner) : ICoapRequestHandler
{
    private readonly List<CoapMessage> _requests = [];

    public IReadOnlyList<CoapMessage> Requests
    {
        get
        {
            lock (_requests)
            {
                return [.. _requests];
            }
        }
    }

    public ValueTask<CoapMessage> HandleAsync(CoapRequestContext context, CancellationToken cancellationToken)
    {
        lock (_requests)
        {
            _requests.Add(context.Request);
        }

        return inner.HandleAsync(context, cancellationToken);
    }
}

internal static class BlockWiseTestData
{
    /// <summary>Deterministic bytes where every 16-byte block differs from the others.</summary>
    public static byte[] Body(int length, int seed = 1)
    {
        var body = new byte[length];
        new Random(seed).NextBytes(body);
        return body;
    }

    public static CoapEndpoint DirectEndpoint(TimeProvider? time = null, int maxDatagramSize = UdpDatagramChannel.DefaultMaxDatagramSize)
        => new(new NullDatagramChannel(maxDatagramSize), timeProvider: time);

    public static IPEndPoint Peer(int port = 40000) => new(IPAddress.Parse("192.0.2.1"), port);

    /// <summary>Block <paramref name="num"/> of <paramref name="body"/> in a POST to <paramref name="path"/>, at SZX <paramref name="szx"/>.</summary>
    public static CoapMessage Block(byte[] body, int num, int szx, string path = "/upload", byte[]? tag = null, bool size1 = true)
    {
        int size = 16 << szx;
        int offset = num * size;
        int count = Math.Min(size, body.Length - offset);
        var request = CoapMessage.CreateRequest(CoapCode.Post, path)
            .WithContentFormat(CoapContentFormat.OctetStream)
            .WithBlock1(new BlockOption(num, offset + count < body.Length, szx))
            .WithPayload(body.AsMemory(offset, count));
        if (size1)
        {
            request = request.SetUInt(CoapOptionNumber.Size1, (uint)body.Length);
        }

        return tag is null ? request : request.WithOption(new CoapOption(CoapOptionNumber.RequestTag, tag));
    }
}

/// <summary>
/// A secure session as the block-wise layer sees one: an endpoint that is its own peer (reference equality, like a DTLS
/// session's) at a transport address, authenticated by a validated certificate, a PSK, or not at all.
/// </summary>
internal sealed class TestSession(IPEndPoint remote, bool validatedCertificate = false, byte[]? pskIdentity = null, bool established = true)
    : EndPoint, ISecureSession
{
    public bool IsEstablished => established;

    public IPEndPoint RemoteEndPoint { get; set; } = remote;

    public string CipherSuiteName => "TEST";

    public System.Security.Cryptography.X509Certificates.X509Certificate2Collection? PeerCertificates => validatedCertificate ? [] : null;

    public bool IsPeerCertificateValidated => validatedCertificate;

    public byte[]? PskIdentity => pskIdentity;

    public bool IsExtendedMasterSecretNegotiated => true;

    public byte[] TlsUnique => [1];

    public override System.Net.Sockets.AddressFamily AddressFamily => RemoteEndPoint.AddressFamily;

    public override string ToString() => "test-session://" + RemoteEndPoint;
}
