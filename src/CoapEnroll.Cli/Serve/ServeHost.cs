using CoapEnroll.Coap;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CoapEnroll.Cli.Serve;

/// <summary>
/// Builds the generic host that <c>coapenroll serve</c> runs (and that the interop tests start in-process).
/// Configuration, lowest precedence first: appsettings.json beside the executable, appsettings.json in
/// the working directory, <c>COAPENROLL_</c> environment variables, <c>--Key=value</c> arguments, and
/// the explicit <c>serve</c> options.
/// </summary>
internal static class ServeHost
{
    public static HostApplicationBuilder CreateBuilder(IEnumerable<KeyValuePair<string, string?>>? overrides = null, IEnumerable<string>? configurationArguments = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            DisableDefaults = true,
            ApplicationName = "coapenroll",
            ContentRootPath = AppContext.BaseDirectory,
        });

        builder.Configuration
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true, reloadOnChange: false)
            .AddJsonFile(Path.Combine(Environment.CurrentDirectory, "appsettings.json"), optional: true, reloadOnChange: false)
            .AddEnvironmentVariables(ServeConfigurationKeys.EnvironmentPrefix)
            .AddCommandLine([.. configurationArguments ?? []])
            .AddInMemoryCollection(overrides ?? []);

        builder.Logging.AddConfiguration(builder.Configuration.GetSection("Logging"));
        builder.Logging.AddSimpleConsole(options =>
        {
            options.SingleLine = true;
            options.TimestampFormat = "HH:mm:ss ";
        });

        builder.Services.Configure<CoapListenOptions>(builder.Configuration.GetSection(CoapListenOptions.SectionName));

        // The same section carries the CoAP stack's limits: Coap:Endpoint:MaxDeduplicationEntriesPerPeer, Coap:MaxTransfersPerPeer, ...
        builder.Services.Configure<CoapServerOptions>(builder.Configuration.GetSection(CoapListenOptions.SectionName));
        builder.Services.Configure<DtlsListenOptions>(builder.Configuration.GetSection(DtlsListenOptions.SectionName));
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<CaHierarchyProvider>();

        // The composition root of the CA side: hierarchy, store, CA and enrollment service, built once and shared by every front end.
        builder.Services.AddSingleton<CertificationServices>();
        builder.Services.AddSingleton(sp => new DiagnosticResources(sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton(sp => new CoapServer(sp.GetRequiredService<IOptions<CoapServerOptions>>().Value, sp.GetRequiredService<ILoggerFactory>(), sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton<CoapServerService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<CoapServerService>());
        return builder;
    }
}
