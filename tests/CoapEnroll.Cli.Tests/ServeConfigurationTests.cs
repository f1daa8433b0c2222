using CoapEnroll.Cli.Serve;
using CoapEnroll.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CoapEnroll.Cli.Tests;

/// <summary>Where <c>serve</c> takes its settings from, and which source wins.</summary>
public class ServeConfigurationTests
{
    [Fact]
    public void Defaults_ComeFromShippedAppSettings()
    {
        using var host = ServeHost.CreateBuilder().Build();
        var options = host.Services.GetRequiredService<IOptions<CoapListenOptions>>().Value;

        Assert.Equal("::", options.Bind);
        Assert.Equal(5683, options.Port);
        Assert.True(options.DiagnosticResources);
        Assert.Equal("data", host.Services.GetRequiredService<IConfiguration>()[ServeConfigurationKeys.DataDirectory]);

        var http = host.Services.GetRequiredService<IOptions<HttpListenOptions>>().Value;
        Assert.True(http.Enabled);
        Assert.Equal("::", http.Bind);
        Assert.Equal(8080, http.Port);
        Assert.Equal(64 * 1024, http.MaxRequestBodySize);
        Assert.NotNull(host.Services.GetService<HttpServerService>());

        var https = host.Services.GetRequiredService<IOptions<HttpsListenOptions>>().Value;
        Assert.True(https.Enabled);
        Assert.Equal("::", https.Bind);
        Assert.Equal(8443, https.Port);
        Assert.NotNull(host.Services.GetService<HttpsServerService>());

        // Started in this order, stopped in reverse: OpenTelemetry's (metrics are on by default) first, so that its meter provider
        // listens before anything records and exports last; the front ends stop before the store (CertificationServices) closes,
        // and the EST and CMP hints run once the listeners are up.
        var started = host.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().Select(s => s.GetType()).ToList();
        Assert.Equal("OpenTelemetry.Extensions.Hosting.Implementation.TelemetryHostedService", started[0].FullName);
        Assert.Equal([typeof(CertificationServices), typeof(CmpSweepService), typeof(CmpAnnouncementService), typeof(CoapServerService),
            typeof(HttpServerService), typeof(HttpsServerService), typeof(EstHttpsStartupHints), typeof(CmpStartupHints)],
            started.Skip(1));
    }

    [Fact]
    public void ConfigurationArguments_BindHttpSection()
    {
        using var host = ServeHost.CreateBuilder(configurationArguments: ["--Http:Port=0", "--Http:Enabled=false", "--Http:Bind=0.0.0.0", "--Http:MaxRequestBodySize=1000"]).Build();
        var options = host.Services.GetRequiredService<IOptions<HttpListenOptions>>().Value;

        Assert.Equal(0, options.Port);
        Assert.False(options.Enabled);
        Assert.Equal("0.0.0.0", options.Bind);
        Assert.Equal(1000, options.MaxRequestBodySize);
    }

    [Fact]
    public void ConfigurationArguments_BindHttpsSection()
    {
        using var host = ServeHost.CreateBuilder(configurationArguments: ["--Https:Port=0", "--Https:Enabled=false", "--Https:Bind=0.0.0.0", "--Https:HandshakeTimeoutSeconds=3"]).Build();
        var options = host.Services.GetRequiredService<IOptions<HttpsListenOptions>>().Value;

        Assert.Equal(0, options.Port);
        Assert.False(options.Enabled);
        Assert.Equal("0.0.0.0", options.Bind);
        Assert.Equal(3, options.HandshakeTimeoutSeconds);
    }

    [Fact]
    public void EnvironmentWithPrefix_ThenArguments_ThenOptions_Win()
    {
        // Only this test uses this key, so setting it does not disturb tests running in parallel.
        const string variable = "COAPENROLL_Diagnostics__Probe";
        Environment.SetEnvironmentVariable(variable, "from-environment");
        try
        {
            using var fromEnvironment = ServeHost.CreateBuilder().Build();
            using var fromArgument = ServeHost.CreateBuilder(configurationArguments: ["--Diagnostics:Probe=from-argument"]).Build();
            using var fromOption = ServeHost.CreateBuilder(
                new Dictionary<string, string?> { ["Diagnostics:Probe"] = "from-option" }, ["--Diagnostics:Probe=from-argument"]).Build();

            Assert.Equal("from-environment", fromEnvironment.Services.GetRequiredService<IConfiguration>()["Diagnostics:Probe"]);
            Assert.Equal("from-argument", fromArgument.Services.GetRequiredService<IConfiguration>()["Diagnostics:Probe"]);
            Assert.Equal("from-option", fromOption.Services.GetRequiredService<IConfiguration>()["Diagnostics:Probe"]);
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    [Fact]
    public void ConfigurationArguments_BindCoapSection()
    {
        using var host = ServeHost.CreateBuilder(configurationArguments: ["--Coap:Port=6000", "--Coap:DiagnosticResources=false", "--Coap:Bind=0.0.0.0"]).Build();
        var options = host.Services.GetRequiredService<IOptions<CoapListenOptions>>().Value;

        Assert.Equal(6000, options.Port);
        Assert.False(options.DiagnosticResources);
        Assert.Equal("0.0.0.0", options.Bind);
    }

    [Fact]
    public void ReassemblyBounds_BindFromTheCoapSection()
    {
        using var host = ServeHost.CreateBuilder(configurationArguments:
        [
            "--Coap:MaxUnauthenticatedTransfersPerAddress=9", "--Coap:MaxUnauthenticatedReassemblyBytesPerAddress=4096",
            "--Coap:MaxUnauthenticatedReassemblyBytesTotal=65536", "--Coap:MaxReassemblyBytesPerAddress=131072",
        ]).Build();
        var options = host.Services.GetRequiredService<IOptions<Coap.CoapServerOptions>>().Value;

        Assert.Equal(9, options.MaxUnauthenticatedTransfersPerAddress);
        Assert.Equal(4096, options.MaxUnauthenticatedReassemblyBytesPerAddress);
        Assert.Equal(65536, options.MaxUnauthenticatedReassemblyBytesTotal);
        Assert.Equal(131072, options.MaxReassemblyBytesPerAddress);
    }
}
