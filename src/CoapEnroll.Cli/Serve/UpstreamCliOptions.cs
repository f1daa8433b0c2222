using System.CommandLine;
using CoapEnroll.Hosting;

namespace CoapEnroll.Cli.Serve;

/// <summary>
/// <c>serve</c>'s options for the edge-node role (the <c>Upstream</c> section, <see cref="UpstreamOptions"/>): where to forward and
/// how to authenticate to and trust the upstream. Each sets one configuration key; the host validates the section as a whole.
/// </summary>
internal sealed class UpstreamCliOptions
{
    private readonly Option<string?> _cmp = new("--upstream-cmp")
    {
        Description = "Forward CMP over CoAP to this HTTP(S) CMP server (RFC 9482 §4) instead of answering it locally, "
            + "e.g. https://ca.example/.well-known/cmp (config key Upstream:Cmp)",
        HelpName = "URL",
    };

    private readonly Option<string?> _est = new("--upstream-est")
    {
        Description = "Be an EST-coaps registrar (RFC 9148 §5): forward EST-coaps to this EST server over HTTPS instead of issuing locally, "
            + "e.g. https://ca.example/.well-known/est (config key Upstream:Est); use --upstream-cert with an id-kp-cmcRA certificate",
        HelpName = "URL",
    };

    private readonly Option<string?> _certificate = new("--upstream-cert")
    {
        Description = "PEM client certificate (then its chain) for TLS to the upstream (config key Upstream:CertificateFile)",
        HelpName = "FILE",
    };

    private readonly Option<string?> _key = new("--upstream-key")
    {
        Description = "PEM private key of --upstream-cert (config key Upstream:KeyFile)",
        HelpName = "FILE",
    };

    private readonly Option<string?> _trust = new("--upstream-trust")
    {
        Description = "PEM trust anchors for the upstream's TLS certificate; only these are trusted (default: the system's store; config key Upstream:TrustFile)",
        HelpName = "FILE",
    };

    public UpstreamCliOptions()
    {
        _est.Validators.Add(result =>
        {
            if (result.Tokens.Count == 1 && UpstreamOptions.CheckEstUri("--upstream-est", result.Tokens[0].Value) is { } problem)
            {
                result.AddError(problem);
            }
        });
        _cmp.Validators.Add(result =>
        {
            if (result.Tokens.Count == 1 && UpstreamOptions.CheckUri("--upstream-cmp", result.Tokens[0].Value) is { } problem)
            {
                result.AddError(problem);
            }
        });
    }

    public void AddTo(Command command)
    {
        command.Options.Add(_cmp);
        command.Options.Add(_est);
        command.Options.Add(_certificate);
        command.Options.Add(_key);
        command.Options.Add(_trust);
    }

    /// <summary>Sets the configuration keys of the options given; files must exist and are passed on as full paths.</summary>
    /// <exception cref="CliException">A file does not exist.</exception>
    public void Apply(ParseResult parseResult, IDictionary<string, string?> overrides)
    {
        if (parseResult.GetValue(_cmp) is { } cmp)
        {
            overrides[$"{UpstreamOptions.SectionName}:{nameof(UpstreamOptions.Cmp)}"] = cmp;
        }

        if (parseResult.GetValue(_est) is { } est)
        {
            overrides[$"{UpstreamOptions.SectionName}:{nameof(UpstreamOptions.Est)}"] = est;
        }

        foreach ((Option<string?> option, string key) in new[]
        {
            (_certificate, nameof(UpstreamOptions.CertificateFile)),
            (_key, nameof(UpstreamOptions.KeyFile)),
            (_trust, nameof(UpstreamOptions.TrustFile)),
        })
        {
            if (parseResult.GetValue(option) is { } file)
            {
                if (!File.Exists(file))
                {
                    throw new CliException(ExitCodes.Usage, $"{option.Name} '{file}': no such file.");
                }

                overrides[$"{UpstreamOptions.SectionName}:{key}"] = Path.GetFullPath(file);
            }
        }
    }
}
