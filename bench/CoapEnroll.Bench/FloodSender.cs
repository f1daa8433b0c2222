using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using CoapEnroll.Coap;

namespace CoapEnroll.Bench;

/// <summary>
/// One UDP socket that sends confirmable GETs as fast as one thread can, never waiting for an answer and never
/// retransmitting (like the C load generator): message IDs count up and wrap at 65536, tokens count up. A receive
/// loop counts what comes back, by code.
/// </summary>
internal sealed class FloodSender
{
    private readonly Socket _socket;
    private readonly byte[] _datagram;
    private readonly long[] _codes = new long[256];
    private readonly CancellationTokenSource _stop = new();
    private Thread? _sender;
    private Task _receiver = Task.CompletedTask;
    private long _sent;
    private long _sendErrors;
    private long _received;

    public FloodSender(IPEndPoint server, string path)
    {
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _socket.Connect(server);
        _datagram = LoadClient.CreateTemplate(path);
    }

    public long Sent => Interlocked.Read(ref _sent);

    public long SendErrors => Interlocked.Read(ref _sendErrors);

    public long Received => Interlocked.Read(ref _received);

    public long ServiceUnavailable => Interlocked.Read(ref _codes[CoapCode.ServiceUnavailable.Value]);

    public long Ok => Interlocked.Read(ref _codes[CoapCode.Content.Value]);

    /// <summary>Starts sending until <paramref name="deadline"/> (a <see cref="Stopwatch"/> timestamp).</summary>
    public void Start(long deadline)
    {
        CancellationToken token = _stop.Token;
        _receiver = Task.Run(() => ReceiveLoopAsync(token), CancellationToken.None);
        _sender = new Thread(() => SendLoop(deadline)) { IsBackground = true, Name = "flood" };
        _sender.Start();
    }

    /// <summary>Waits for the sender to reach its deadline, gives late answers <paramref name="linger"/>, then closes the socket.</summary>
    public async Task StopAsync(TimeSpan linger)
    {
        _sender?.Join();
        await Task.Delay(linger);
        await _stop.CancelAsync();
        await _receiver;
        _socket.Dispose();
    }

    private void SendLoop(long deadline)
    {
        ushort messageId = (ushort)Random.Shared.Next(65536);
        uint token = (uint)Random.Shared.Next();
        for (long i = 0; ; i++)
        {
            if ((i & 63) == 0 && Stopwatch.GetTimestamp() >= deadline)
            {
                return;
            }

            BinaryPrimitives.WriteUInt16BigEndian(_datagram.AsSpan(2), messageId++);
            BinaryPrimitives.WriteUInt32BigEndian(_datagram.AsSpan(4, LoadClient.TokenLength), token++);
            try
            {
                _socket.Send(_datagram);
                Interlocked.Increment(ref _sent);
            }
            catch (SocketException)
            {
                Interlocked.Increment(ref _sendErrors);
            }
        }
    }

    private async Task ReceiveLoopAsync(CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[2048];
        for (int errors = 0; errors < 100_000 && !cancellationToken.IsCancellationRequested;)
        {
            try
            {
                int received = await _socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
                if (CoapMessageDecoder.TryReadHeader(buffer.AsSpan(0, received), out _, out CoapCode code, out _))
                {
                    Interlocked.Increment(ref _codes[code.Value]);
                }

                Interlocked.Increment(ref _received);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (SocketException)
            {
                errors++;
            }
        }
    }
}
