using CoapEnroll.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CoapEnroll.Cli.Serve;

/// <summary>
/// Builds the generic host that <c>coapenroll serve</c> runs (and that the interop tests start in-process), and the one
/// <c>coapenroll requests</c> takes the CA from without starting it. The services are CoapEnroll.Hosting's; the command line
/// chooses only where the configuration comes from and where the log goes. Configuration, lowest precedence first:
/// the appsettings.json compiled into the program, appsettings.json beside the executable, appsettings.json in the working directory, <c>COAPENROLL_</c> environment
/// variables, <c>--Key=value</c> arguments, and the explicit options of the command.
/// </summary>
internal static class ServeHost
{
    /// <summary>
    /// The host of a command that uses the CA but serves nothing (<c>requests</c>, <c>ca</c>): the same composition root and
    /// configuration as serve, with <c>--data</c> as the data directory when given, no CoAP or HTTP server, logging off so that the
    /// command's output is only its own, and not started: the CA is built by its CertificationServices on first use.
    /// </summary>
    public static IHost BuildOffline(string? dataDirectory, IEnumerable<string> configurationArguments)
    {
        var overrides = new Dictionary<string, string?>();
        if (dataDirectory is not null)
        {
            overrides[ServeConfigurationKeys.DataDirectory] = dataDirectory;
        }

        HostApplicationBuilder builder = CreateBuilder(overrides, configurationArguments, withCoapServer: false);
        builder.Logging.ClearProviders();
        return builder.Build();
    }

    /// <param name="overrides">The explicit options of the command, winning over every other source.</param>
    /// <param name="configurationArguments">The <c>--Key=value</c> arguments.</param>
    /// <param name="withCoapServer">False for commands that use the CA but serve nothing (<c>requests</c>): neither CoAP nor HTTP.</param>
    public static HostApplicationBuilder CreateBuilder(IEnumerable<KeyValuePair<string, string?>>? overrides = null, IEnumerable<string>? configurationArguments = null,
        bool withCoapServer = true)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            DisableDefaults = true,
            ApplicationName = "coapenroll",
            ContentRootPath = AppContext.BaseDirectory,
        });

        builder.Configuration
            .AddJsonStream(EmbeddedDefaults())
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true, reloadOnChange: false)
            .AddJsonFile(Path.Combine(Environment.CurrentDirectory, "appsettings.json"), optional: true, reloadOnChange: false)
            .AddEnvironmentVariables(ServeConfigurationKeys.EnvironmentPrefix)
            .AddCommandLine([.. configurationArguments ?? []])
            .AddInMemoryCollection(overrides ?? []);

        builder.Logging.AddConfiguration(builder.Configuration.GetSection("Logging"));
        var startup = new HostStartupLog();
        builder.Services.AddSingleton(startup);
        builder.Logging.AddFilter(HostStartupLog.HostCategory, startup.Allows);
        builder.Logging.AddSimpleConsole(options =>
        {
            options.SingleLine = true;
            options.TimestampFormat = "HH:mm:ss ";
        });

        // The composition root: the CA side once (hierarchy, server credential, store, CA, enrollment service), then the front ends on it.
        builder.Services.AddCoapEnrollCertification(builder.Configuration);
        if (withCoapServer)
        {
            // The commands serve prints begin as this process was started (installed tool, dotnet run, dotnet coapenroll.dll).
            builder.Services.AddSingleton(HowToInvoke.ThisProcess);
            builder.Services.AddCoapEnrollCoapServer(builder.Configuration);

            // After the CA: its endpoints (CMP over HTTP) use the store, so it stops before the store closes.
            builder.Services.AddCoapEnrollHttpServer(builder.Configuration);
            builder.Services.AddCoapEnrollHttpsServer(builder.Configuration);
            builder.Services.AddCoapEnrollCmp();

            // /metrics, /healthz and /readyz on http://, and OTLP when Metrics:Otlp:Endpoint is set.
            builder.Services.AddCoapEnrollMonitoring(builder.Configuration);
        }

        return builder;
    }

    /// <summary>
    /// src/CoapEnroll.Cli/appsettings.json as compiled in: a single-file executable has no file beside it, and its defaults (the log
    /// levels above all) must not depend on one being copied along.
    /// </summary>
    private static Stream EmbeddedDefaults()
        => typeof(ServeHost).Assembly.GetManifestResourceStream(EmbeddedDefaultsName)
            ?? throw new InvalidOperationException($"The resource {EmbeddedDefaultsName} is missing from {typeof(ServeHost).Assembly.GetName().Name}: see CoapEnroll.Cli.csproj.");

    private const string EmbeddedDefaultsName = "CoapEnroll.Cli.appsettings.json";
}
