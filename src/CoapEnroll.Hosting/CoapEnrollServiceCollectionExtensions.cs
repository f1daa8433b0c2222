using CoapEnroll.Ca;
using CoapEnroll.Coap;
using CoapEnroll.Enrollment;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace CoapEnroll.Hosting;

/// <summary>Registers CoapEnroll's services in a generic host (or a WebApplication): the certification core once, then the front ends.</summary>
public static class CoapEnrollServiceCollectionExtensions
{
    /// <summary>The meters collected for export: every CoapEnroll layer's (CoapEnroll.Ca, .Coap, .Dtls, .Enrollment, .Cmp, …) and the HTTP listeners'.</summary>
    public static readonly IReadOnlyList<string> ExportedMeters = ["CoapEnroll.*", "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel"];

    /// <summary>
    /// Registers <see cref="CertificationServices"/> as a hosted service that, when the host starts, loads (or on first start
    /// creates) the CA hierarchy and the server's credential under <c>DataDirectory</c>, opens the store and builds the CA and the
    /// enrollment service, from the <c>Ca</c>, <c>Est</c> and <c>Dtls</c> sections of <paramref name="configuration"/>. Register it
    /// before the front ends, so that it starts before them and stops after them. Once the host has started, <see cref="CaHierarchy"/>,
    /// <see cref="ServerCredential"/>, <see cref="ICertificateStore"/>, <see cref="CertificateAuthority"/> and
    /// <see cref="EnrollmentService"/> resolve to its instances (before, resolving them throws <see cref="InvalidOperationException"/>).
    /// </summary>
    public static IServiceCollection AddCoapEnrollCertification(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(sp => new CertificationServices(configuration, sp.GetRequiredService<ILoggerFactory>(), sp.GetRequiredService<TimeProvider>()));
        services.AddHostedService(sp => sp.GetRequiredService<CertificationServices>());
        services.AddSingleton(sp => sp.GetRequiredService<CertificationServices>().Hierarchy);
        services.AddSingleton(sp => sp.GetRequiredService<CertificationServices>().ServerCredential);
        // The CA's store: every call through it is timed (ca.store.duration).
        services.AddSingleton(sp => sp.GetRequiredService<CertificationServices>().Authority.Store);
        services.AddSingleton(sp => sp.GetRequiredService<CertificationServices>().Authority);
        services.AddSingleton(sp => sp.GetRequiredService<CertificationServices>().Enrollment);
        services.AddHostedService(sp => new CmpSweepService(sp.GetRequiredService<CertificationServices>(), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<CmpSweepService>>()));
        services.AddHostedService(sp => new CmpAnnouncementService(sp.GetRequiredService<CertificationServices>(), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<CmpAnnouncementService>>()));
        return services;
    }

    /// <summary>
    /// Registers the CoAP server (<see cref="CoapServerService"/>, a hosted service) with EST-coaps and the diagnostic resources on
    /// coap:// and coaps://, configured by the <c>Coap</c> section (<see cref="CoapListenOptions"/> and the stack's
    /// <see cref="CoapServerOptions"/>) and the <c>Dtls</c> section (<see cref="DtlsListenOptions"/>).
    /// </summary>
    /// <exception cref="InvalidOperationException"><see cref="AddCoapEnrollCertification"/> has not been called before.</exception>
    public static IServiceCollection AddCoapEnrollCoapServer(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        if (!services.Any(d => d.ServiceType == typeof(CertificationServices)))
        {
            // Hosted services start in registration order and stop in reverse: the CA must be loaded first and closed last.
            throw new InvalidOperationException($"Call {nameof(AddCoapEnrollCertification)} before {nameof(AddCoapEnrollCoapServer)}.");
        }

        services.Configure<CoapListenOptions>(configuration.GetSection(CoapListenOptions.SectionName));

        // The same section carries the CoAP stack's limits: Coap:Endpoint:MaxDeduplicationEntriesPerPeer, Coap:MaxTransfersPerPeer, ...
        services.Configure<CoapServerOptions>(configuration.GetSection(CoapListenOptions.SectionName));
        services.Configure<DtlsListenOptions>(configuration.GetSection(DtlsListenOptions.SectionName));
        services.AddSingleton(sp => new DiagnosticResources(sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new CoapServer(sp.GetRequiredService<IOptions<CoapServerOptions>>().Value, sp.GetRequiredService<ILoggerFactory>(),
            sp.GetRequiredService<TimeProvider>()));
        services.AddCoapEnrollUpstream(configuration);

        // The program registers how it was started before this; a host that does not gets the installed tool's command.
        services.TryAddSingleton(CommandLinePrefix.Default);
        services.AddSingleton<CoapServerService>();
        services.AddHostedService(sp => sp.GetRequiredService<CoapServerService>());
        return services;
    }

    /// <summary>
    /// Registers <see cref="UpstreamHttp"/>, the one pooled HTTP client and the in-flight bounds every forwarding front end shares,
    /// configured by the <c>Upstream</c> section (<see cref="UpstreamOptions"/>). Called by <see cref="AddCoapEnrollCoapServer"/>;
    /// calling it again does nothing.
    /// </summary>
    public static IServiceCollection AddCoapEnrollUpstream(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        if (services.Any(d => d.ServiceType == typeof(UpstreamHttp)))
        {
            return services;
        }

        services.Configure<UpstreamOptions>(configuration.GetSection(UpstreamOptions.SectionName));
        services.AddSingleton<UpstreamHttp>();
        return services;
    }

    /// <summary>
    /// Registers the HTTP listener (<see cref="HttpServerService"/>, a hosted service, also resolvable by its type for its bound
    /// endpoint) configured by the <c>Http</c> section (<see cref="HttpListenOptions"/>). Routes come from every
    /// <see cref="IHttpEndpointSource"/> in the container, registered before or after this call
    /// (<c>services.AddSingleton&lt;IHttpEndpointSource, MySource&gt;()</c>); without any, every path is answered 404. Register it
    /// after <see cref="AddCoapEnrollCertification"/> when its endpoints use the CA, so that it stops before the store closes.
    /// </summary>
    public static IServiceCollection AddCoapEnrollHttpServer(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        if (services.Any(d => d.ServiceType == typeof(HttpServerService)))
        {
            return services; // one listener, started once
        }

        services.Configure<HttpListenOptions>(configuration.GetSection(HttpListenOptions.SectionName));
        services.AddSingleton<HttpServerService>();
        services.AddHostedService(sp => sp.GetRequiredService<HttpServerService>());
        return services;
    }

    /// <summary>
    /// Registers the HTTPS listener (<see cref="HttpsServerService"/>, a hosted service, also resolvable by its type for its bound
    /// endpoint) configured by the <c>Https</c> section (<see cref="HttpsListenOptions"/>) with the <c>Http</c> section's limits. It
    /// presents the server credential, so <see cref="AddCoapEnrollCertification"/> must be called before (the CA starts first and
    /// stops last). Routes come from every <see cref="IHttpEndpointSource"/> naming <see cref="HttpListenerKind.Https"/>, EST over
    /// HTTPS (<see cref="EstHttpsEndpointSource"/>, registered here) and the operator page (<see cref="AdminEndpointSource"/>, configured by the
    /// <c>Admin</c> section, off by default) among them.
    /// </summary>
    /// <exception cref="InvalidOperationException"><see cref="AddCoapEnrollCertification"/> has not been called before.</exception>
    public static IServiceCollection AddCoapEnrollHttpsServer(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        if (!services.Any(d => d.ServiceType == typeof(CertificationServices)))
        {
            throw new InvalidOperationException($"Call {nameof(AddCoapEnrollCertification)} before {nameof(AddCoapEnrollHttpsServer)}.");
        }

        if (services.Any(d => d.ServiceType == typeof(HttpsServerService)))
        {
            return services; // one listener, started once
        }

        services.Configure<HttpListenOptions>(configuration.GetSection(HttpListenOptions.SectionName));
        services.Configure<HttpsListenOptions>(configuration.GetSection(HttpsListenOptions.SectionName));
        services.AddSingleton<HttpsServerService>();
        services.AddHostedService(sp => sp.GetRequiredService<HttpsServerService>());

        // EST over HTTPS (RFC 7030) goes with the HTTPS listener; CMP registers itself for both (AddCoapEnrollCmp).
        services.AddSingleton<IHttpEndpointSource, EstHttpsEndpointSource>();
        services.AddHostedService<EstHttpsStartupHints>();

        // The operator page (Admin section), mapped only when Admin:Enabled is true and an operator can authenticate.
        services.Configure<AdminOptions>(configuration.GetSection(AdminOptions.SectionName));
        services.AddSingleton<IHttpEndpointSource, AdminEndpointSource>();
        return services;
    }

    /// <summary>
    /// Registers CMP's HTTP endpoints (<see cref="CmpHttpEndpointSource"/>) and the startup hints (<see cref="CmpStartupHints"/>).
    /// CMP over CoAP is mapped by the CoAP server itself; the CMP server is built by <see cref="CertificationServices"/>. Call it
    /// after the listeners are registered.
    /// </summary>
    public static IServiceCollection AddCoapEnrollCmp(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton<IHttpEndpointSource, CmpHttpEndpointSource>();
        services.AddHostedService<CmpStartupHints>();
        return services;
    }

    /// <summary>
    /// Registers the metrics export and the health endpoints: an OpenTelemetry <see cref="MeterProvider"/> collecting
    /// <see cref="ExportedMeters"/>, with a Prometheus exporter scraped at <c>/metrics</c> on http:// and, when
    /// <c>Metrics:Otlp:Endpoint</c> is set, an OTLP exporter (the <c>Metrics</c> section, <see cref="MetricsOptions"/>; none of it
    /// with <c>Metrics:Enabled=false</c>); and
    /// <c>/healthz</c> and <c>/readyz</c> on http:// (<see cref="MonitoringEndpointSource"/>), the latter asking the store through
    /// the CA and whether the issuing key is reachable (<see cref="StoreReadiness"/>, the <c>Health</c> section, <see cref="HealthOptions"/>). The endpoints need
    /// <see cref="AddCoapEnrollHttpServer"/>; without http:// only OTLP leaves the process. Calling it again does nothing.
    /// </summary>
    /// <exception cref="InvalidOperationException"><see cref="AddCoapEnrollCertification"/> has not been called before.</exception>
    public static IServiceCollection AddCoapEnrollMonitoring(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        if (!services.Any(d => d.ServiceType == typeof(CertificationServices)))
        {
            throw new InvalidOperationException($"Call {nameof(AddCoapEnrollCertification)} before {nameof(AddCoapEnrollMonitoring)}.");
        }

        if (services.Any(d => d.ServiceType == typeof(StoreReadiness)))
        {
            return services;
        }

        services.Configure<MetricsOptions>(configuration.GetSection(MetricsOptions.SectionName));
        services.Configure<HealthOptions>(configuration.GetSection(HealthOptions.SectionName));
        services.AddSingleton(sp =>
        {
            CertificationServices certification = sp.GetRequiredService<CertificationServices>();
            HealthOptions health = sp.GetRequiredService<IOptions<HealthOptions>>().Value;
            if (health.Validate() is { } problem)
            {
                // Resolved with the HTTP listener, before it starts: the program reports this as the operator's setting.
                throw new InvalidOperationException(problem);
            }

            return new StoreReadiness(async cancellationToken =>
                {
                    await certification.Authority.CountPendingRequestsAsync(cancellationToken);
                    await certification.Hierarchy.IssuingKey.CheckAvailableAsync(cancellationToken);
                },
                TimeSpan.FromSeconds(health.StoreTimeoutSeconds), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<StoreReadiness>>());
        });

        // Read now, tolerantly, only to decide what to register; the program validates the bound value (a typo is a usage error).
        bool collect = !string.Equals(configuration[$"{MetricsOptions.SectionName}:{nameof(MetricsOptions.Enabled)}"]?.Trim(), "false", StringComparison.OrdinalIgnoreCase);
        services.AddSingleton<IHttpEndpointSource>(sp => new MonitoringEndpointSource(sp.GetRequiredService<IOptions<MetricsOptions>>(),
            collect ? sp.GetRequiredService<MeterProvider>() : null, sp.GetRequiredService<StoreReadiness>()));
        if (!collect)
        {
            return services;
        }

        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("coapenroll"))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter([.. ExportedMeters]);

                // Collects only when scraped; /metrics is mapped unless Metrics:Prometheus is false.
                metrics.AddPrometheusExporter();

                // Read now only to decide whether to add the exporter at all; the settings are bound when the provider is built,
                // after the program has validated them (MetricsOptions.Validate).
                if (!string.IsNullOrWhiteSpace(configuration[$"{MetricsOptions.SectionName}:{nameof(MetricsOptions.Otlp)}:{nameof(OtlpMetricsOptions.Endpoint)}"]))
                {
                    metrics.AddOtlpExporter((exporter, reader) =>
                    {
                        var options = new MetricsOptions();
                        configuration.GetSection(MetricsOptions.SectionName).Bind(options);
                        if (options.Validate() is { } problem)
                        {
                            throw new InvalidOperationException(problem);
                        }

                        OtlpMetricsOptions otlp = options.Otlp;
                        exporter.Endpoint = otlp.EndpointUri;
                        exporter.Protocol = otlp.Protocol == OtlpMetricsOptions.HttpProtobuf ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
                        exporter.Headers = otlp.Headers;
                        exporter.TimeoutMilliseconds = otlp.TimeoutSeconds * 1000;
                        reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = otlp.ExportIntervalSeconds * 1000;
                    });
                }
            });

        return services;
    }
}
