using System.Net;
using System.Text;
using CoapEnroll.Coap;
using CoapEnroll.Dtls;
using CoapEnroll.Testing;
using CoapEnroll.Transport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace CoapEnroll.Hosting.Tests;

/// <summary>
/// With the shipped receive mode, coap:// and coaps:// requests are handled on the socket's receive thread up to the handler's
/// first real wait (over coaps the DTLS layer hands decrypted data up there too), so a resource whose work is slow before that
/// wait must start on the thread pool (<see cref="CoapResource.RunOnThreadPool"/>): otherwise it would stall every other peer of the
/// socket. EST enrollment and CMP are such resources; /test, /crts and /.well-known/core stay inline.
/// </summary>
public sealed class InlineDispatchTests
{
    private const string PskIdentity = "inline-dispatch";
    private static readonly byte[] PskKey = Convert.FromHexString("00112233445566778899AABBCCDDEEFF");

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_slow_resource_does_not_hold_up_another_peers_cheap_request(bool secure)
    {
        using var dir = new TempDirectory("coapenroll-inline-dispatch-");
        using IHost host = Build(dir.Path);
        var server = host.Services.GetRequiredService<CoapServer>();

        // A handler that is synchronous before it answers, as one whose store calls are synchronous under an async API is.
        using var release = new ManualResetEventSlim(false);
        var entered = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        server.MapPost("/slow", (_, cancellationToken) =>
        {
            entered.TrySetResult(Thread.CurrentThread.IsThreadPoolThread);
            release.Wait(TimeSpan.FromSeconds(60), cancellationToken);
            return ValueTask.FromResult(new CoapMessage { Code = CoapCode.Changed });
        }).RunOnThreadPool();
        server.MapGet("/thread", (_, _) => ValueTask.FromResult(new CoapMessage { Code = CoapCode.Content }.WithPayload(Thread.CurrentThread.Name ?? "")));

        await host.StartAsync();
        try
        {
            CoapServerService service = host.Services.GetRequiredService<CoapServerService>();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await using Peer slowPeer = await Peer.ConnectAsync(service, secure, timeout.Token);
            await using Peer cheapPeer = await Peer.ConnectAsync(service, secure, timeout.Token);

            Task<CoapMessage> slow = slowPeer.SendAsync(CoapMessage.CreateRequest(CoapCode.Post, "/slow"), timeout.Token);
            Assert.True(await entered.Task.WaitAsync(timeout.Token), "the slow handler ran on the receive thread");

            // While the slow handler still holds its thread, the other peer is answered, on the receive thread.
            using (var quick = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token))
            {
                quick.CancelAfter(TimeSpan.FromSeconds(20));
                CoapMessage test = await cheapPeer.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/test"), quick.Token);
                Assert.Equal(CoapCode.Content, test.Code);
                CoapMessage thread = await cheapPeer.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/thread"), quick.Token);
                Assert.StartsWith("udp rx ", thread.PayloadText, StringComparison.Ordinal);
            }

            Assert.False(slow.IsCompleted);
            release.Set();
            Assert.Equal(CoapCode.Changed, (await slow).Code);
        }
        finally
        {
            release.Set();
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task Est_enrollment_and_cmp_start_on_the_thread_pool_and_cheap_resources_stay_inline()
    {
        using var dir = new TempDirectory("coapenroll-inline-dispatch-");
        using IHost host = Build(dir.Path);
        await host.StartAsync();
        try
        {
            IReadOnlyList<CoapResource> resources = host.Services.GetRequiredService<CoapServer>().Resources;
            CoapResource Find(string pattern) => Assert.Single(resources, r => r.Pattern == pattern);

            foreach (string slow in (string[])["/.well-known/est/sen", "/.well-known/est/sren", "/.well-known/est/{label}/sen",
                "/.well-known/est/{label}/sren", "/.well-known/cmp", "/.well-known/cmp/ir", "/.well-known/cmp/p/{label}/cr"])
            {
                Assert.True(Find(slow).RunsOnThreadPool, slow);
            }

            foreach (string cheap in (string[])["/test", "/.well-known/est/crts", "/.well-known/core"])
            {
                Assert.False(Find(cheap).RunsOnThreadPool, cheap);
            }
        }
        finally
        {
            await host.StopAsync();
        }
    }

    private static IHost Build(string dataDirectory)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["DataDirectory"] = dataDirectory,
            ["Coap:Bind"] = "127.0.0.1",
            ["Coap:Port"] = "0",
            ["Dtls:Port"] = "0",
            [$"Dtls:Psk:{PskIdentity}"] = Convert.ToHexString(PskKey),
        });
        builder.Services.AddCoapEnrollCertification(builder.Configuration).AddCoapEnrollCoapServer(builder.Configuration);
        return builder.Build();
    }

    /// <summary>A client of its own (its own socket, and over coaps its own DTLS session).</summary>
    private sealed class Peer(CoapClient client, EndPoint remote) : IAsyncDisposable
    {
        public static async Task<Peer> ConnectAsync(CoapServerService service, bool secure, CancellationToken cancellationToken)
        {
            if (!secure)
            {
                var coap = new IPEndPoint(IPAddress.Loopback, service.LocalEndPoint!.Port);
                return new Peer(new CoapClient(UdpDatagramChannel.ConnectTo(coap)), coap);
            }

            var coaps = new IPEndPoint(IPAddress.Loopback, service.SecureLocalEndPoint!.Port);
            DtlsClientChannel session = await DtlsClientChannel.ConnectAsync(coaps, new DtlsClientOptions
            {
                PskIdentity = Encoding.UTF8.GetBytes(PskIdentity),
                PskKey = PskKey,
                CipherSuites = [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8],
            }, cancellationToken);
            return new Peer(new CoapClient(session), session.RemoteEndPoint);
        }

        public Task<CoapMessage> SendAsync(CoapMessage request, CancellationToken cancellationToken) =>
            client.SendAsync(request, remote, cancellationToken);

        public ValueTask DisposeAsync() => client.DisposeAsync();
    }
}
