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
/// <c>Coap:ReceiveMode</c>: coap:// and coaps:// on a receive thread per socket (the default) or on the runtime's asynchronous
/// sockets; both serve the same requests, and a wrong value stops the start with a message that names the choices.
/// </summary>
public sealed class ReceiveModeTests
{
    private const string PskIdentity = "receive-mode";
    private static readonly byte[] PskKey = Convert.FromHexString("00112233445566778899AABBCCDDEEFF");

    [Theory]
    [InlineData(null)]
    [InlineData("Dedicated")]
    [InlineData("async")]
    public async Task Both_modes_serve_coap_and_coaps_and_stop(string? mode)
    {
        using var dir = new TempDirectory("coapenroll-receive-mode-");
        using IHost host = Build(dir.Path, mode);
        await host.StartAsync();
        CoapServerService service = host.Services.GetRequiredService<CoapServerService>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        var coap = new IPEndPoint(IPAddress.Loopback, service.LocalEndPoint!.Port);
        await using (var client = new CoapClient(UdpDatagramChannel.ConnectTo(coap)))
        {
            var response = await client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/test"), coap, timeout.Token);
            Assert.Equal(CoapCode.Content, response.Code);
        }

        var coaps = new IPEndPoint(IPAddress.Loopback, service.SecureLocalEndPoint!.Port);
        var options = new DtlsClientOptions
        {
            PskIdentity = Encoding.UTF8.GetBytes(PskIdentity),
            PskKey = PskKey,
            CipherSuites = [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8],
        };
        DtlsClientChannel session = await DtlsClientChannel.ConnectAsync(coaps, options, timeout.Token);
        await using (var client = new CoapClient(session))
        {
            var response = await client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/whoami"), session.RemoteEndPoint, timeout.Token);
            Assert.Equal(CoapCode.Content, response.Code);
            Assert.Contains(PskIdentity, response.PayloadText, StringComparison.Ordinal);
        }

        await host.StopAsync(timeout.Token);

        // Both sockets are closed: their ports bind again.
        await using var coapAgain = UdpDatagramChannel.Bind(coap);
        await using var coapsAgain = UdpDatagramChannel.Bind(coaps);
    }

    [Fact]
    public async Task An_unknown_receive_mode_stops_the_start_and_names_the_choices()
    {
        using var dir = new TempDirectory("coapenroll-receive-mode-");
        using IHost host = Build(dir.Path, "Fast");

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());
        Assert.Equal("Coap:ReceiveMode 'Fast' is not one of Dedicated, Async.", ex.Message);
    }

    [Theory]
    [InlineData("100")]
    [InlineData("-1")]
    public async Task A_receive_buffer_out_of_range_stops_the_start(string bytes)
    {
        using var dir = new TempDirectory("coapenroll-receive-mode-");
        using IHost host = Build(dir.Path, null, ("Coap:SocketReceiveBufferBytes", bytes));

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());
        Assert.Equal($"Coap:SocketReceiveBufferBytes {bytes} is not 0 (the system's default) or 4096 to 1073741824.", ex.Message);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("async")]
    public async Task Both_sockets_get_the_receive_buffer_asked_for(string? mode)
    {
        using var dir = new TempDirectory("coapenroll-receive-mode-");
        using IHost host = Build(dir.Path, mode, ("Coap:SocketReceiveBufferBytes", "65536"));
        await host.StartAsync();
        CoapServerService service = host.Services.GetRequiredService<CoapServerService>();
        var coap = new IPEndPoint(IPAddress.Loopback, service.LocalEndPoint!.Port);
        var coaps = new IPEndPoint(IPAddress.Loopback, service.SecureLocalEndPoint!.Port);

        // Linux reports twice what it granted (socket(7)); the ports are the server's, read from /proc/net/udp.
        int expected = OperatingSystem.IsLinux() ? 2 * Math.Min(65536, int.Parse(File.ReadAllText("/proc/sys/net/core/rmem_max").Trim(), System.Globalization.CultureInfo.InvariantCulture)) : 65536;
        Assert.Equal(expected, CoapListenOptions.GrantedReceiveBuffer(service.BoundChannels.Single(c => ((IPEndPoint)c.LocalEndPoint).Port == coap.Port)));
        Assert.Equal(expected, CoapListenOptions.GrantedReceiveBuffer(service.BoundChannels.Single(c => ((IPEndPoint)c.LocalEndPoint).Port == coaps.Port)));
        await host.StopAsync();
    }

    private static IHost Build(string dataDirectory, string? mode, params (string Key, string Value)[] extra)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        var settings = new Dictionary<string, string?>
        {
            ["DataDirectory"] = dataDirectory,
            ["Coap:Bind"] = "127.0.0.1",
            ["Coap:Port"] = "0",
            ["Dtls:Port"] = "0",
            [$"Dtls:Psk:{PskIdentity}"] = Convert.ToHexString(PskKey),
        };
        if (mode is not null)
        {
            settings["Coap:ReceiveMode"] = mode;
        }

        foreach ((string key, string value) in extra)
        {
            settings[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddCoapEnrollCertification(builder.Configuration).AddCoapEnrollCoapServer(builder.Configuration);
        return builder.Build();
    }
}
