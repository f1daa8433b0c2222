using System.Diagnostics;
using System.Net.Sockets;

namespace CoapEnroll.Bench;

/// <summary>
/// Drives a set of <see cref="LoadClient"/>s, one per transport: one async receive loop per transport (it answers each
/// response with the client's next request, back to back) and one timer loop for all retransmissions. No thread per client.
/// </summary>
internal sealed class LoadGroup
{
    private static readonly TimeSpan TimerPeriod = TimeSpan.FromMilliseconds(20);

    private readonly ILoadTransport[] _transports;
    private readonly LoadClient[] _clients;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private long _sendErrors;
    private long _receiveErrors;

    public LoadGroup(IReadOnlyList<ILoadTransport> transports, string path, int inFlight, LoadParameters parameters, long windowEnd)
    {
        _transports = [.. transports];
        byte[] template = LoadClient.CreateTemplate(path);
        _clients = [.. Enumerable.Range(0, _transports.Length).Select(i => new LoadClient(i, template, inFlight, parameters, windowEnd))];
    }

    public IReadOnlyList<LoadClient> Clients => _clients;

    public long SendErrors => Interlocked.Read(ref _sendErrors);

    public long ReceiveErrors => Interlocked.Read(ref _receiveErrors);

    public int Outstanding => _clients.Sum(c => c.Outstanding);

    /// <summary>Sends every client's first requests and starts the loops.</summary>
    public void Start()
    {
        CancellationToken token = _stop.Token;
        for (int i = 0; i < _clients.Length; i++)
        {
            int index = i;
            _loops.Add(Task.Run(() => ReceiveLoopAsync(_transports[index], _clients[index], token), CancellationToken.None));
        }

        long now = Stopwatch.GetTimestamp();
        var toSend = new List<byte[]>();
        for (int i = 0; i < _clients.Length; i++)
        {
            _clients[i].Start(now, toSend);
            foreach (byte[] datagram in toSend)
            {
                SendInBackground(_transports[i], datagram, token);
            }

            toSend.Clear();
        }

        _loops.Add(Task.Run(() => TimerLoopAsync(token), CancellationToken.None));
    }

    /// <summary>No new requests from now on; the outstanding ones keep being retransmitted and answered.</summary>
    public void StopIssuing()
    {
        foreach (LoadClient client in _clients)
        {
            client.Stop();
        }
    }

    /// <summary>
    /// Stops new requests, waits at most <paramref name="drain"/> for the outstanding ones to be answered or to fail,
    /// then stops the loops. Returns how many were still outstanding.
    /// </summary>
    public async Task<int> StopAsync(TimeSpan drain)
    {
        StopIssuing();
        var clock = Stopwatch.StartNew();
        while (Outstanding > 0 && clock.Elapsed < drain)
        {
            await Task.Delay(50);
        }

        int unfinished = Outstanding;
        await _stop.CancelAsync();
        await Task.WhenAll(_loops);
        return unfinished;
    }

    private async Task ReceiveLoopAsync(ILoadTransport transport, LoadClient client, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[2048];
        var toSend = new List<byte[]>(4);
        while (!cancellationToken.IsCancellationRequested)
        {
            int received;
            try
            {
                received = await transport.ReceiveAsync(buffer, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                // E.g. ECONNREFUSED from an ICMP port unreachable on a connected socket; give up on a transport that keeps failing.
                if (Interlocked.Increment(ref _receiveErrors) > 100_000 || ex is ObjectDisposedException)
                {
                    break;
                }

                continue;
            }

            client.OnDatagram(buffer.AsSpan(0, received), Stopwatch.GetTimestamp(), toSend);
            foreach (byte[] datagram in toSend)
            {
                await SendAsync(transport, datagram, cancellationToken);
            }

            toSend.Clear();
        }
    }

    private async Task TimerLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimerPeriod);
        var toSend = new List<byte[]>();
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                long now = Stopwatch.GetTimestamp();
                for (int i = 0; i < _clients.Length; i++)
                {
                    _clients[i].CheckTimeouts(now, toSend);
                    foreach (byte[] datagram in toSend)
                    {
                        await SendAsync(_transports[i], datagram, cancellationToken);
                    }

                    toSend.Clear();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async ValueTask SendAsync(ILoadTransport transport, byte[] datagram, CancellationToken cancellationToken)
    {
        try
        {
            await transport.SendAsync(datagram, cancellationToken);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // Counted; the request's retransmission timer covers a datagram that did not leave.
            Interlocked.Increment(ref _sendErrors);
        }
    }

    private void SendInBackground(ILoadTransport transport, byte[] datagram, CancellationToken cancellationToken)
    {
        ValueTask send = SendAsync(transport, datagram, cancellationToken);
        if (!send.IsCompleted)
        {
            _ = send.AsTask();
        }
    }
}
