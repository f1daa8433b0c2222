using System.Net;
using System.Net.Sockets;

namespace CoapEnroll.Cli.Tests.Cmp;

/// <summary>
/// A UDP forwarder on loopback between a CoAP client and a server that passes the client's first <c>forward</c> datagrams and
/// drops every later one (answers always pass back): the client's transfer stops mid-way as if the device lost its link.
/// </summary>
public sealed class CuttingUdpRelay : IAsyncDisposable
{
    private readonly UdpClient _front = new(new IPEndPoint(IPAddress.Loopback, 0));
    private readonly UdpClient _back = new(new IPEndPoint(IPAddress.Loopback, 0));
    private readonly CancellationTokenSource _stop = new();
    private readonly int _forward;
    private readonly Task _toServer;
    private readonly Task _toClient;
    private IPEndPoint? _client;
    private int _forwarded;
    private int _dropped;

    public CuttingUdpRelay(IPEndPoint server, int forward)
    {
        _forward = forward;
        _back.Connect(server);
        _toServer = Task.Run(ToServerAsync);
        _toClient = Task.Run(ToClientAsync);
    }

    public int Port => ((IPEndPoint)_front.Client.LocalEndPoint!).Port;

    public int Forwarded => Volatile.Read(ref _forwarded);

    public int Dropped => Volatile.Read(ref _dropped);

    private async Task ToServerAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            UdpReceiveResult datagram;
            try
            {
                datagram = await _front.ReceiveAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            Volatile.Write(ref _client, datagram.RemoteEndPoint);
            if (Interlocked.Increment(ref _forwarded) <= _forward)
            {
                await _back.SendAsync(datagram.Buffer, _stop.Token);
            }
            else
            {
                Interlocked.Decrement(ref _forwarded);
                Interlocked.Increment(ref _dropped);
            }
        }
    }

    private async Task ToClientAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                UdpReceiveResult datagram = await _back.ReceiveAsync(_stop.Token);
                if (Volatile.Read(ref _client) is { } client)
                {
                    await _front.SendAsync(datagram.Buffer, client, _stop.Token);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                // An ICMP port unreachable from the client after it gave up: keep relaying.
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _front.Dispose();
        _back.Dispose();
        await Task.WhenAll(_toServer, _toClient);
        _stop.Dispose();
    }
}
