using System.Net;
using CoapEnroll.Coap;

namespace CoapEnroll.Bench;

/// <summary>
/// Bench-only transport shim for the server that works around the epoch-0 sequence-number collision
/// described in bench/REPORT.md: our server echoes ClientHello1's record sequence number (usually 0) in the
/// HelloVerifyRequest (RFC 6347 §4.2.1), the client marks it in its epoch-0 replay window, and the new
/// server connection then sends its ServerHello flight starting again at sequence number 0, which the client
/// drops as a replay; the handshake completes only after a 1 s retransmission. The shim rewrites the
/// HelloVerifyRequest's record sequence number to 63: the server's first flight (sequence numbers from 0)
/// is then inside the client's 64-record window and not yet marked. The HelloVerifyRequest is unprotected
/// and outside the transcript, so nothing else changes. It emulates a client that resets its epoch-0 window
/// on HelloVerifyRequest (the suggested fix) and exists only to measure handshakes without the timer.
/// </summary>
internal sealed class HvrSequenceShim(IDatagramChannel inner) : IDatagramChannel
{
    public EndPoint LocalEndPoint => inner.LocalEndPoint;

    public int MaxDatagramSize => inner.MaxDatagramSize;

    public ValueTask<DatagramReceiveResult> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken) =>
        inner.ReceiveAsync(buffer, cancellationToken);

    public ValueTask SendAsync(ReadOnlyMemory<byte> datagram, EndPoint remoteEndPoint, CancellationToken cancellationToken)
    {
        ReadOnlySpan<byte> d = datagram.Span;
        // content type 22 (handshake), epoch 0, handshake type 3 (hello_verify_request) right after the 13-byte header.
        if (d.Length > 13 && d[0] == 22 && d[3] == 0 && d[4] == 0 && d[13] == 3)
        {
            byte[] copy = d.ToArray();
            copy.AsSpan(5, 6).Clear();
            copy[10] = 63;
            return inner.SendAsync(copy, remoteEndPoint, cancellationToken);
        }

        return inner.SendAsync(datagram, remoteEndPoint, cancellationToken);
    }

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
