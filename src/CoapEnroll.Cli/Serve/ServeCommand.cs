using System.CommandLine;
using System.Net.Sockets;
using CoapEnroll.Ca;
using CoapEnroll.Coap;
using CoapEnroll.Est;
using CoapEnroll.Hosting;
using CoapEnroll.Pkix;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace CoapEnroll.Cli.Serve;

/// <summary><c>coapenroll serve</c>: runs the CoAP server until Ctrl-C (or SIGTERM).</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var data = new Option<string?>("--data") { Description = "Data directory, created if missing (default: ./data; config key DataDirectory)", HelpName = "DIR" };
        var bind = new Option<string?>("--bind")
        {
            Description = "Address to listen on, for CoAP, HTTP and HTTPS (default: :: for IPv6 and IPv4, falling back to 0.0.0.0; config keys Coap:Bind, Http:Bind, Https:Bind)",
            HelpName = "ADDRESS",
        };
        // Every port option reads the same way: a number (0 picks a free port, logged at start) or "off".
        var port = PortOption("--coap-port", "UDP", "UDP port for coap:// (default: 5683; 0 picks a free port; off disables plain CoAP; config keys Coap:Port, Coap:Enabled)");
        var securePort = PortOption("--coaps-port", "UDP",
            "UDP port for coaps:// (DTLS 1.2; default: 5684; 0 picks a free port; off disables coaps; config keys Dtls:Port, Dtls:Enabled)");
        var httpPort = PortOption("--http-port", "TCP", "TCP port for http:// (default: 8080; 0 picks a free port; off disables HTTP; config keys Http:Port, Http:Enabled)");
        var httpsPort = PortOption("--https-port", "TCP",
            "TCP port for https:// (TLS 1.2/1.3 with the server certificate: EST over HTTPS, CMP over HTTPS; default: 8443; 0 picks a free port; "
            + "off disables HTTPS; config keys Https:Port, Https:Enabled)");
        var trustManufacturer = new Option<string[]>("--trust-manufacturer")
        {
            Description = "PEM file of a manufacturer CA whose device certificates (IDevIDs) may enroll; repeatable (config key Ca:TrustedManufacturerCaFiles)",
            HelpName = "FILE",
            AllowMultipleArgumentsPerToken = false,
        };
        var command = new Command("serve", "Run the CoAP server (coap:// and coaps://) and the HTTP listeners (http://, https://) until Ctrl-C. Other configuration keys can be given as --Key=value, "
            + "e.g. --Coap:DiagnosticResources=false or --Dtls:Psk:device-1=00112233445566778899aabbccddeeff.")
        {
            data, bind, port, securePort, httpPort, httpsPort, trustManufacturer,
        };

        var upstream = new UpstreamCliOptions();
        upstream.AddTo(command);

        // Unmatched tokens are configuration keys for Microsoft.Extensions.Configuration's command line provider.
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var overrides = new Dictionary<string, string?>();
            if (parseResult.GetValue(data) is { } dir)
            {
                overrides[ServeConfigurationKeys.DataDirectory] = dir;
            }

            if (parseResult.GetValue(bind) is { } address)
            {
                overrides[$"{CoapListenOptions.SectionName}:{nameof(CoapListenOptions.Bind)}"] = address;
                overrides[$"{HttpListenOptions.SectionName}:{nameof(HttpListenOptions.Bind)}"] = address;
                overrides[$"{HttpsListenOptions.SectionName}:{nameof(HttpsListenOptions.Bind)}"] = address;
            }

            SetPort(overrides, parseResult.GetValue(port), CoapListenOptions.SectionName);
            SetPort(overrides, parseResult.GetValue(securePort), DtlsListenOptions.SectionName);
            SetPort(overrides, parseResult.GetValue(httpPort), HttpListenOptions.SectionName);
            SetPort(overrides, parseResult.GetValue(httpsPort), HttpsListenOptions.SectionName);

            // Appended after any files the configuration lists (list binding takes every child key, whatever its name).
            string[] manufacturers = parseResult.GetValue(trustManufacturer) ?? [];
            for (int i = 0; i < manufacturers.Length; i++)
            {
                if (!File.Exists(manufacturers[i]))
                {
                    throw new CliException(ExitCodes.Usage, $"--trust-manufacturer '{manufacturers[i]}': no such file.");
                }

                overrides[$"{CaOptions.SectionName}:{nameof(CaOptions.TrustedManufacturerCaFiles)}:cli{i.ToString("D4", System.Globalization.CultureInfo.InvariantCulture)}"] =
                    Path.GetFullPath(manufacturers[i]);
            }

            upstream.Apply(parseResult, overrides);
            ConfigurationArguments.ThrowOnUnrecognized(parseResult.UnmatchedTokens, "serve");
            return await RunAsync(ServeHost.CreateBuilder(overrides, parseResult.UnmatchedTokens), cancellationToken);
        });
        return command;
    }

    /// <summary>A <c>--*-port PORT|off</c> option whose value the parser checks (see <see cref="ParsePort"/>).</summary>
    private static Option<string?> PortOption(string name, string protocol, string description)
    {
        var option = new Option<string?>(name) { Description = description, HelpName = "PORT|off" };
        option.Validators.Add(result =>
        {
            if (result.Tokens.Count == 1 && ParsePort(result.Tokens[0].Value) is null)
            {
                result.AddError($"{name} '{result.Tokens[0].Value}' is not a {protocol} port (0..65535) or off");
            }
        });
        return option;
    }

    /// <summary>
    /// A port option's value as the configuration keys of <paramref name="section"/>: <c>off</c> is <c>Enabled=false</c>, a number
    /// (0 included, a free port) is <c>Enabled=true</c> and <c>Port</c>. Nothing without the option.
    /// </summary>
    private static void SetPort(Dictionary<string, string?> overrides, string? value, string section)
    {
        if (value is null)
        {
            return;
        }

        int parsed = ParsePort(value)!.Value; // validated by the parser
        overrides[$"{section}:Enabled"] = parsed < 0 ? "false" : "true";
        if (parsed >= 0)
        {
            overrides[$"{section}:Port"] = parsed.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    /// <summary>A <c>--*-port</c> value: the port (0..65535), -1 for <c>off</c> (any case), null when it is neither.</summary>
    internal static int? ParsePort(string value) =>
        string.Equals(value.Trim(), "off", StringComparison.OrdinalIgnoreCase) ? -1
        : int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int port) && port <= 65535 ? port
        : null;

    /// <summary>Builds, validates, starts and runs the host until <paramref name="cancellationToken"/> or a shutdown signal.</summary>
    public static async Task<int> RunAsync(HostApplicationBuilder builder, CancellationToken cancellationToken)
    {
        IHost built;
        try
        {
            built = builder.Build();
        }
        catch (InvalidOperationException ex)
        {
            // The logging section is read as the host is built: Logging:LogLevel:Default=Verbose says only "not supported".
            throw new CliException(ExitCodes.Usage, $"Logging: {ex.Message.TrimEnd('.')} (a level is Trace, Debug, Information, Warning, Error, Critical or None).", ex);
        }

        using IHost host = built;
        CoapListenOptions coap;
        DtlsListenOptions dtls;
        HttpListenOptions? http;
        HttpsListenOptions? https;
        UpstreamOptions? upstreamOptions;
        MetricsOptions metrics;
        HealthOptions health;
        AdminOptions admin;
        var est = new EstServerOptions();
        try
        {
            coap = host.Services.GetRequiredService<IOptions<CoapListenOptions>>().Value;
            dtls = host.Services.GetRequiredService<IOptions<DtlsListenOptions>>().Value;
            http = host.Services.GetService<HttpServerService>() is null ? null : host.Services.GetRequiredService<IOptions<HttpListenOptions>>().Value;
            https = host.Services.GetService<HttpsServerService>() is null ? null : host.Services.GetRequiredService<IOptions<HttpsListenOptions>>().Value;
            _ = host.Services.GetRequiredService<IOptions<CoapServerOptions>>().Value;
            upstreamOptions = host.Services.GetService<IOptions<UpstreamOptions>>()?.Value;
            metrics = host.Services.GetRequiredService<IOptions<MetricsOptions>>().Value;
            health = host.Services.GetRequiredService<IOptions<HealthOptions>>().Value;
            admin = host.Services.GetRequiredService<IOptions<AdminOptions>>().Value;
            host.Services.GetRequiredService<IConfiguration>().GetSection("Est").Bind(est);
        }
        catch (InvalidOperationException ex)
        {
            // The configuration binder's message for a value of the wrong type, e.g. Coap:Port=abc.
            throw new CliException(ExitCodes.Usage, ex.Message, ex);
        }

        if (coap.Validate() is { } problem)
        {
            throw new CliException(ExitCodes.Usage, problem);
        }

        if (dtls.Validate() is { } dtlsProblem)
        {
            throw new CliException(ExitCodes.Usage, dtlsProblem);
        }

        if (http?.Validate() is { } httpProblem)
        {
            throw new CliException(ExitCodes.Usage, httpProblem);
        }

        if (https is not null && (https.Validate() ?? (https.Enabled ? host.Services.GetRequiredService<IOptions<HttpListenOptions>>().Value.ValidateLimits() : null)) is { } httpsProblem)
        {
            throw new CliException(ExitCodes.Usage, httpsProblem);
        }

        if (upstreamOptions?.Validate() is { } upstreamProblem)
        {
            throw new CliException(ExitCodes.Usage, upstreamProblem);
        }

        if ((metrics.Validate() ?? health.Validate()) is { } monitoringProblem)
        {
            throw new CliException(ExitCodes.Usage, monitoringProblem);
        }

        // Checked again where the page is built, after the listeners started; a bad Admin section must not get that far.
        if (admin.Validate() is { } adminProblem)
        {
            throw new CliException(ExitCodes.Usage, adminProblem);
        }

        if (est.ValidateBasicLimits() is { } estProblem)
        {
            throw new CliException(ExitCodes.Usage, estProblem);
        }

        if (admin.Enabled && https is not { Enabled: true })
        {
            throw new CliException(ExitCodes.Usage, "Admin:Enabled is true but the https:// listener is off (Https:Enabled, --https-port): the operator page is served only there.");
        }

        try
        {
            // Before anything is created: a profile or store setting that cannot be read is the operator's typo, not a missing file.
            _ = CaOptions.Bind(host.Services.GetRequiredService<IConfiguration>());
            host.Services.GetRequiredService<CertificationServices>().CheckStoreSettings();
        }
        catch (CaConfigurationException ex)
        {
            throw new CliException(ExitCodes.Usage, ex.Message, ex);
        }

        try
        {
            // The CoAP server checks its limits (Coap:MaxTransfersPerPeer, the reassembly bounds, ...) as it is built.
            _ = host.Services.GetRequiredService<CoapServer>();
        }
        catch (ArgumentException ex)
        {
            throw new CliException(ExitCodes.Usage, ex.Message, ex);
        }

        if (upstreamOptions?.Any == true)
        {
            try
            {
                // The upstream TLS files, read now so that a bad one is named as the upstream's, not as the server's credential.
                _ = await host.Services.GetRequiredService<UpstreamHttp>().GetHttpClientAsync(cancellationToken);
            }
            catch (CredentialFileException ex)
            {
                throw new CliException(ExitCodes.Failure, $"Cannot load the upstream TLS files: {ex.Message}", ex);
            }
        }

        try
        {
            await host.StartAsync(cancellationToken);
            host.Services.GetRequiredService<HostStartupLog>().Started();
        }
        catch (ListenException ex)
        {
            throw new CliException(ExitCodes.Failure, $"Cannot listen on {ex.Message}.", ex);
        }
        catch (SocketException ex)
        {
            throw new CliException(ExitCodes.Failure, $"Cannot listen: {ex.Message}.", ex);
        }
        catch (System.Data.Common.DbException ex)
        {
            // The store's database: PostgreSQL unreachable or refusing the login, or a SQLite file that cannot be opened. A login the
            // server refuses (28xxx) or a database that does not exist (3D000) is the configuration's: exit 2, which the systemd unit
            // does not restart; one that cannot be reached may come back, and a restart may then succeed.
            int code = ex.SqlState is { } state && (state.StartsWith("28", StringComparison.Ordinal) || state == "3D000") ? ExitCodes.Usage : ExitCodes.Failure;
            throw new CliException(code, $"Cannot open the certificate store {host.Services.GetRequiredService<CertificationServices>().StoreLocation}: {ex.Message}", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.Failure, $"Cannot create the data directory: {ex.Message}", ex);
        }
        catch (CaConfigurationException ex) when (ex.Problem is CaConfigurationProblem.TokenUnavailable)
        {
            // A module or token that is not there may come back: exit 1, which a supervisor restarts.
            throw new CliException(ExitCodes.Failure, $"Cannot open the CA key (Ca:KeyProvider): {ex.Message}", ex);
        }
        catch (CaConfigurationException ex) when (ex.Problem is CaConfigurationProblem.WrongPin or CaConfigurationProblem.KeyMissing)
        {
            // Exit 2, which the systemd unit does not restart: a refused PIN tried again every few seconds locks the token's user PIN.
            throw new CliException(ExitCodes.Usage, $"Cannot open the CA key (Ca:KeyProvider): {ex.Message}", ex);
        }
        catch (Exception ex) when (ex is CaConfigurationException or CredentialFileException)
        {
            // Files the configuration names (missing, unreadable, a key that is not the certificate's): a restart cannot help.
            throw new CliException(ExitCodes.Usage, $"Cannot load the server's certificates: {ex.Message}", ex);
        }
        catch (ArgumentException ex)
        {
            // DtlsServerOptions rejects an unusable credential (e.g. a key that is not ECDSA).
            throw new CliException(ExitCodes.Failure, $"Cannot start: {ex.Message}", ex);
        }
        catch (InvalidOperationException ex)
        {
            // A section the services read as they start, with a value of the wrong type (Cmp:ConfirmWaitTime=5min): the binder's
            // message names the key. Exit 2, as every configuration mistake, so that a supervisor does not restart it in a loop.
            throw new CliException(ExitCodes.Usage, $"Cannot start: {ex.Message}", ex);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return ExitCodes.Success;
        }

        await host.WaitForShutdownAsync(cancellationToken);
        return ExitCodes.Success;
    }
}
