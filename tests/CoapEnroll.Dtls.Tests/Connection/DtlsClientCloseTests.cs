using System.Net;
using CoapEnroll.Testing;
using CoapEnroll.Transport;

namespace CoapEnroll.Dtls.Tests;

/// <summary>
/// Closing a client session is on the path of every session a client (the CLI, the bench's load generator) opens: it must not
/// throw and catch exceptions (cancelled socket receives), which cost CPU per session, while keeping what a caller sees.
/// </summary>
public class DtlsClientCloseTests
{
    private static DtlsClientOptions PskOptions() => DtlsLoopbackTests.ClientOptions(o =>
    {
        o.PskIdentity = DtlsLoopbackTests.s_pskIdentity;
        o.PskKey = DtlsLoopbackTests.s_psk;
        o.CipherSuites = [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8];
    });

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Close_AfterHandshake_ThrowsNoException(bool exchangeData)
    {
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), DtlsLoopbackTests.ServerOptions());
        using var recorder = new FirstChanceExceptionRecorder();

        // Several sessions: the very first close in a process was seen not to throw on the old code either.
        for (int session = 0; session < 3; session++)
        {
            DtlsClientChannel client = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, PskOptions(), DtlsLoopbackTests.Timeout());
            if (exchangeData)
            {
                await DtlsLoopbackTests.ExchangeAsync(client, server);
            }

            recorder.Start();
            await client.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            recorder.Stop();
        }

        Assert.True(recorder.Exceptions.Count == 0, $"{recorder.Exceptions.Count} exception(s) on close:\n{recorder.Describe()}");
    }

    [Fact]
    public async Task Close_EndsPendingReceive_AsClosedOrDisposed()
    {
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), DtlsLoopbackTests.ServerOptions());
        DtlsClientChannel client = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, PskOptions(), DtlsLoopbackTests.Timeout());
        IDatagramChannel channel = client;
        ValueTask<DatagramReceiveResult> pending = channel.ReceiveOrClosedAsync(new byte[2048], CancellationToken.None);
        ValueTask<DatagramReceiveResult> pendingStrict = client.ReceiveAsync(new byte[2048], CancellationToken.None);
        Assert.False(pending.IsCompleted);

        await client.DisposeAsync();

        Assert.True((await pending.AsTask().WaitAsync(TimeSpan.FromSeconds(10))).IsClosed);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => pendingStrict.AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True((await channel.ReceiveOrClosedAsync(new byte[2048], CancellationToken.None)).IsClosed);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.ReceiveAsync(new byte[2048], CancellationToken.None).AsTask());
    }

    [Fact]
    public async Task ReceiveOrClosed_CallersCancellation_StillThrows()
    {
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), DtlsLoopbackTests.ServerOptions());
        await using DtlsClientChannel client = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, PskOptions(), DtlsLoopbackTests.Timeout());
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ((IDatagramChannel)client).ReceiveOrClosedAsync(new byte[2048], cancel.Token).AsTask());

        // The session is still usable after the caller gave up on one receive.
        await DtlsLoopbackTests.ExchangeAsync(client, server);
    }

    [Fact]
    public async Task ReceiveOrClosed_ReturnsDataBeforeClose()
    {
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), DtlsLoopbackTests.ServerOptions());
        await using DtlsClientChannel client = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, PskOptions(), DtlsLoopbackTests.Timeout());
        await client.SendAsync("hello"u8.ToArray(), client.RemoteEndPoint, default);
        (_, EndPoint session) = await DtlsLoopbackTests.ReceiveAsync(server);
        await server.SendAsync("reply"u8.ToArray(), session, default);

        byte[] buffer = new byte[2048];
        DatagramReceiveResult result = await ((IDatagramChannel)client).ReceiveOrClosedAsync(buffer, DtlsLoopbackTests.Timeout());

        Assert.False(result.IsClosed);
        Assert.Equal("reply"u8.ToArray(), buffer.AsSpan(0, result.ReceivedBytes).ToArray());
        Assert.Same(client.RemoteEndPoint, result.RemoteEndPoint);
    }
}
