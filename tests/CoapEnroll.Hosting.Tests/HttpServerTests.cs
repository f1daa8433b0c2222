using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace CoapEnroll.Hosting.Tests;

/// <summary>The HTTP listener: routes from every <see cref="IHttpEndpointSource"/>, 404 elsewhere, Kestrel's limits, start and stop with the host.</summary>
public sealed class HttpServerTests
{
    [Fact]
    public async Task Every_registered_endpoint_source_maps_its_routes_and_other_paths_are_404()
    {
        using IHost host = Build(sources: [new TestSource("/x", "from x"), new TestSource("/y", "from y")]);
        await host.StartAsync();
        HttpServerService http = host.Services.GetRequiredService<HttpServerService>();
        Assert.NotNull(http.LocalEndPoint);
        Assert.NotEqual(0, http.LocalEndPoint.Port);
        Assert.Equal(IPAddress.Loopback, http.LocalEndPoint.Address);
        Assert.Equal(new Uri($"http://127.0.0.1:{http.LocalEndPoint.Port}/"), http.LocalUri);

        using var client = new HttpClient { BaseAddress = http.LocalUri };
        Assert.Equal("from x", await client.GetStringAsync(new Uri("/x", UriKind.Relative)));
        Assert.Equal("from y", await client.GetStringAsync(new Uri("/y", UriKind.Relative)));
        using HttpResponseMessage missing = await client.GetAsync(new Uri("/nope", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.False(missing.Headers.Contains("Server"));

        await host.StopAsync();
        Assert.Null(http.LocalEndPoint);
    }

    [Fact]
    public async Task Without_endpoint_sources_every_path_is_404()
    {
        using IHost host = Build();
        await host.StartAsync();
        using var client = new HttpClient { BaseAddress = host.Services.GetRequiredService<HttpServerService>().LocalUri };
        using HttpResponseMessage response = await client.GetAsync(new Uri("/", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        await host.StopAsync();
    }

    [Theory]
    [InlineData(null, HttpListenOptions.DefaultMaxRequestBodySize)]
    [InlineData("100", 100)]
    public async Task A_body_over_Http_MaxRequestBodySize_is_answered_413(string? setting, long limit)
    {
        var settings = new Dictionary<string, string?>();
        if (setting is not null)
        {
            settings["Http:MaxRequestBodySize"] = setting;
        }

        using IHost host = Build(settings, [new TestSource("/x", "x")]);
        await host.StartAsync();
        using var client = new HttpClient { BaseAddress = host.Services.GetRequiredService<HttpServerService>().LocalUri };

        using (var atLimit = new ByteArrayContent(new byte[limit]))
        using (HttpResponseMessage accepted = await client.PostAsync(new Uri("/x/echo", UriKind.Relative), atLimit))
        {
            Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
            Assert.Equal(limit, (await accepted.Content.ReadAsByteArrayAsync()).Length);
        }

        using (var overLimit = new ByteArrayContent(new byte[limit + 1]))
        using (HttpResponseMessage refused = await client.PostAsync(new Uri("/x/echo", UriKind.Relative), overLimit))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.StatusCode);
        }

        await host.StopAsync();
    }

    [Fact]
    public async Task A_peer_over_Http_MaxConnectionsPerPeer_is_closed_and_may_connect_again_when_one_closes()
    {
        using IHost host = Build(new Dictionary<string, string?> { ["Http:MaxConnectionsPerPeer"] = "2" }, [new TestSource("/x", "x")]);
        await host.StartAsync();
        int port = host.Services.GetRequiredService<HttpServerService>().LocalEndPoint!.Port;

        // Two kept-alive connections, each answered (so Kestrel holds both), then a third from the same address.
        using TcpClient first = await ConnectAndGetAsync(port);
        using TcpClient second = await ConnectAndGetAsync(port);
        using (var third = new TcpClient())
        {
            await third.ConnectAsync(IPAddress.Loopback, port);
            Assert.Null(await TryGetAsync(third));
        }

        // The first two still work; when one closes, a new connection is served.
        Assert.NotNull(await TryGetAsync(second));
        first.Dispose();
        TcpClient? again = null;
        for (int attempt = 0; attempt < 50 && again is null; attempt++)
        {
            var candidate = new TcpClient();
            await candidate.ConnectAsync(IPAddress.Loopback, port);
            if (await TryGetAsync(candidate) is not null)
            {
                again = candidate;
            }
            else
            {
                candidate.Dispose();
                await Task.Delay(50);
            }
        }

        Assert.NotNull(again);
        again.Dispose();
        await host.StopAsync();
    }

    private static async Task<TcpClient> ConnectAndGetAsync(int port)
    {
        var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        Assert.NotNull(await TryGetAsync(client));
        return client;
    }

    /// <summary>GET /x on a kept-alive connection: the response head, or null when the server closed the connection instead.</summary>
    private static async Task<string?> TryGetAsync(TcpClient client)
    {
        try
        {
            NetworkStream stream = client.GetStream();
            await stream.WriteAsync("GET /x HTTP/1.1\r\nHost: test\r\n\r\n"u8.ToArray());
            byte[] buffer = new byte[4096];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            int read = await stream.ReadAsync(buffer, timeout.Token);
            return read == 0 ? null : System.Text.Encoding.ASCII.GetString(buffer, 0, read);
        }
        catch (IOException)
        {
            return null;
        }
    }

    [Fact]
    public async Task Headers_over_Http_MaxRequestHeadersTotalSize_are_answered_431()
    {
        using IHost host = Build(new() { ["Http:MaxRequestHeadersTotalSize"] = "2048" }, [new TestSource("/x", "x")]);
        await host.StartAsync();
        using var client = new HttpClient { BaseAddress = host.Services.GetRequiredService<HttpServerService>().LocalUri };

        using var small = new HttpRequestMessage(HttpMethod.Get, new Uri("/x", UriKind.Relative));
        small.Headers.Add("X-Filler", new string('a', 1000));
        using (HttpResponseMessage accepted = await client.SendAsync(small))
        {
            Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        }

        using var large = new HttpRequestMessage(HttpMethod.Get, new Uri("/x", UriKind.Relative));
        large.Headers.Add("X-Filler", new string('a', 3000));
        using (HttpResponseMessage refused = await client.SendAsync(large))
        {
            Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, refused.StatusCode);
        }

        await host.StopAsync();
    }

    [Fact]
    public async Task Disabled_nothing_listens()
    {
        using IHost host = Build(new() { ["Http:Enabled"] = "false", ["Http:Bind"] = "not an address" }, [new TestSource("/x", "x")]);
        await host.StartAsync();
        Assert.Null(host.Services.GetRequiredService<HttpServerService>().LocalEndPoint);
        Assert.Null(host.Services.GetRequiredService<HttpServerService>().LocalUri);
        await host.StopAsync();
    }

    [Fact]
    public async Task The_default_bind_serves_IPv4_and_IPv6()
    {
        if (!Socket.OSSupportsIPv6)
        {
            Assert.Fail("This test needs IPv6 on the loopback interface.");
        }

        using IHost host = Build(new() { ["Http:Bind"] = null }, [new TestSource("/x", "x")]);
        await host.StartAsync();
        int port = host.Services.GetRequiredService<HttpServerService>().LocalEndPoint!.Port;
        using var client = new HttpClient();
        Assert.Equal("x", await client.GetStringAsync(new Uri($"http://127.0.0.1:{port}/x")));
        Assert.Equal("x", await client.GetStringAsync(new Uri($"http://[::1]:{port}/x")));
        await host.StopAsync();
    }

    [Fact]
    public async Task Stopping_the_host_closes_the_port()
    {
        using IHost host = Build(sources: [new TestSource("/x", "x")]);
        await host.StartAsync();
        IPEndPoint local = host.Services.GetRequiredService<HttpServerService>().LocalEndPoint!;
        await host.StopAsync();

        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var ex = await Assert.ThrowsAsync<SocketException>(async () => await socket.ConnectAsync(local));
        Assert.Equal(SocketError.ConnectionRefused, ex.SocketErrorCode);
    }

    [Fact]
    public async Task A_port_in_use_fails_the_start_naming_the_listener_and_its_setting()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;

        using IHost host = Build(new() { ["Http:Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        var ex = await Assert.ThrowsAsync<ListenException>(() => host.StartAsync());
        Assert.Equal(SocketError.AddressAlreadyInUse, Assert.IsType<SocketException>(ex.InnerException).SocketErrorCode);
        Assert.Equal($"TCP 127.0.0.1:{port} (http://, Http:Port)", ex.Listener);
    }

    [Theory]
    [InlineData("Http:Port", "70000", "Http:Port")]
    [InlineData("Http:Bind", "nowhere", "Http:Bind")]
    [InlineData("Http:MaxRequestBodySize", "0", "Http:MaxRequestBodySize")]
    public async Task Unusable_settings_fail_the_start_naming_the_key(string key, string value, string named)
    {
        using IHost host = Build(new() { [key] = value });
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());
        Assert.Contains(named, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Registering_twice_adds_one_listener()
    {
        IConfiguration configuration = new ConfigurationBuilder().Build();
        var services = new ServiceCollection();
        services.AddCoapEnrollHttpServer(configuration).AddCoapEnrollHttpServer(configuration);
        Assert.Single(services, d => d.ServiceType == typeof(IHostedService));
    }

    private static IHost Build(Dictionary<string, string?>? settings = null, IHttpEndpointSource[]? sources = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        var configuration = new Dictionary<string, string?> { ["Http:Bind"] = "127.0.0.1", ["Http:Port"] = "0" };
        foreach (var (key, value) in settings ?? [])
        {
            configuration[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(configuration.Where(setting => setting.Value is not null));
        foreach (IHttpEndpointSource source in sources ?? [])
        {
            builder.Services.AddSingleton(source);
        }

        builder.Services.AddCoapEnrollHttpServer(builder.Configuration);
        return builder.Build();
    }

    /// <summary>GET <c>path</c> answers <c>text</c>; POST <c>path</c>/echo answers the body it read.</summary>
    private sealed class TestSource(string path, string text) : IHttpEndpointSource
    {
        public HttpListenerKind Listeners => HttpListenerKind.Http;

        public void MapEndpoints(IEndpointRouteBuilder endpoints)
        {
            endpoints.MapGet(path, () => text);
            endpoints.MapPost(path + "/echo", async (HttpContext context) =>
            {
                using var body = new MemoryStream();
                await context.Request.Body.CopyToAsync(body, context.RequestAborted);
                return Results.Bytes(body.ToArray(), "application/octet-stream");
            });
        }
    }
}
