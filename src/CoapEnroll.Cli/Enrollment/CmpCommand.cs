using System.CommandLine;
using System.Formats.Asn1;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CoapEnroll.Ca;
using CoapEnroll.Cli.Client;
using CoapEnroll.Cmp;
using CoapEnroll.Coap;
using CoapEnroll.Dtls;
using CoapEnroll.Pkix;
using CoapEnroll.Transport;
using CertificateRequest = System.Security.Cryptography.X509Certificates.CertificateRequest;

namespace CoapEnroll.Cli.Enrollment;

/// <summary>
/// <c>coapenroll cmp ir|cr|kur|p10cr|rr|genm --server URI …</c>: a CMP client (RFC 9810, Lightweight CMP Profile RFC 9483) over
/// coap://, coaps:// (RFC 9482), http:// or https:// (RFC 9811). Requests are MAC-protected (--ref with --secret-env) or signed
/// (--cert/--key); answers must carry the same MAC or a signature chaining to --trust. certConf is sent by the enrollment
/// operations themselves, unless --defer-confirm writes the transaction's state to a file for a later <c>cmp certconf --state</c>
/// (accept, or reject with --reject). Every problem is one line on stderr and an exit
/// code from <see cref="ExitCodes"/>: a CMP refusal or a 4.xx/4xx answer → 4, 5.xx/5xx → 5, no answer → 3, bad input → 2,
/// an answer that fails its checks → 1.
/// </summary>
internal sealed class CmpCommand
{
    private const string DefaultPath = "/.well-known/cmp";

    private static readonly Dictionary<string, string> InfoTypes = new(StringComparer.Ordinal)
    {
        ["caCerts"] = CmpInfoTypes.CaCerts,
        ["rootCaCert"] = CmpInfoTypes.RootCaCert,
        ["certReqTemplate"] = CmpInfoTypes.CertReqTemplate,
        ["crls"] = CmpInfoTypes.CrlStatusList,
    };

    private readonly string _operation;
    private readonly Option<string> _server = new("--server")
    {
        Description = $"The CMP server: coap://, coaps://, http:// or https://HOST[:PORT][PATH]; PATH defaults to {DefaultPath} (add /p/LABEL or an operation label as the server wants)",
        HelpName = "URI",
        Required = true,
    };

    private readonly Option<string?> _ref = new("--ref") { Description = "MAC protection: the reference (senderKID) the server knows the shared secret by; with --secret-env", HelpName = "REF" };
    private readonly Option<string?> _secretEnv = new("--secret-env") { Description = "MAC protection: the environment variable holding the shared secret (never give it on the command line)", HelpName = "NAME" };
    private readonly Option<bool> _pbmac1 = new("--pbmac1") { Description = "MAC with PBMAC1 (RFC 9481 §6.1.2) instead of PasswordBasedMac" };
    private readonly Option<bool> _allowSha1 = new("--allow-hmac-sha1") { Description = "Accept answers MAC-protected with HMAC-SHA1 (PasswordBasedMac of OpenSSL 3.0 and older servers); refused by default" };
    private readonly Option<string?> _cert = new("--cert") { Description = "Signature protection: the protection certificate (PEM, leaf first, its chain after it); with --key", HelpName = "FILE" };
    private readonly Option<string?> _key = new("--key") { Description = "Signature protection: the private key (PEM) of --cert", HelpName = "FILE" };
    private readonly Option<string?> _trust = new("--trust") { Description = "PEM trust anchors: a signed answer's protection certificate, and the coaps:// or https:// server certificate, must chain to them", HelpName = "FILE" };
    private readonly Option<string?> _pskIdentity = new("--psk-identity") { Description = "coaps://: DTLS pre-shared key identity (text); with --psk-key", HelpName = "ID" };
    private readonly Option<string?> _pskKey = new("--psk-key") { Description = "coaps://: DTLS pre-shared key in hex", HelpName = "HEX" };
    private readonly Option<string?> _subject = new("--subject") { Description = "Subject to ask for, RFC 4514 form: CN=dev-1,O=Acme (kur: default the subject of --oldcert)", HelpName = "DN" };
    private readonly Option<string[]> _san = new("--san") { Description = "subjectAltName to ask for (repeatable): DNS:NAME, IP:ADDRESS, URI:URI or email:ADDRESS", HelpName = "TYPE:VALUE", AllowMultipleArgumentsPerToken = false };
    private readonly Option<string?> _csr = new("--csr") { Description = "p10cr: the PKCS#10 request to send (PEM or DER); without it a new key and CSR for --subject are made", HelpName = "FILE" };
    private readonly Option<string?> _keyOut = new("--key-out") { Description = "Write the new private key here (PEM PKCS#8, owner-only): a P-256 key made here, or with --centralkeygen the key the server generated", HelpName = "FILE" };
    private readonly Option<string?> _out = new("--out", "-o") { Description = "Write the issued certificate (genm: the items, caCerts/crls as PEM) here (default: stdout)", HelpName = "FILE" };
    private readonly Option<string?> _chainOut = new("--chain-out") { Description = "Write the answer's CA chain (extraCerts that are CAs) here as PEM", HelpName = "FILE" };
    private readonly Option<string?> _caCertsOut = new("--cacerts-out") { Description = "Write caPubs (the CA certificates the server asks you to trust) here as PEM", HelpName = "FILE" };
    private readonly Option<bool> _implicitConfirm = new("--implicit-confirm") { Description = "Ask for implicit confirmation; certConf is still sent when the server does not grant it" };
    private readonly Option<bool> _centralKeyGen = new("--centralkeygen") { Description = "ir/cr/kur: the server generates the key (RFC 9483 §4.1.6) and sends it encrypted to the shared secret or to --cert's key; needs --trust (the key generator's signature); written to --key-out" };
    private readonly Option<string?> _deferConfirm = new("--defer-confirm") { Description = "Do not confirm yet: write the transaction's state here for 'cmp certconf --state FILE', to be run before the server's confirmWaitTime", HelpName = "FILE" };
    private readonly Option<string?> _state = new("--state") { Description = "certconf: the state file an enrollment with --defer-confirm wrote", HelpName = "FILE" };
    private readonly Option<string?> _reject = new("--reject") { Description = "certconf: reject the certificate with this reason (the server revokes it) instead of accepting it", HelpName = "REASON" };
    private readonly Option<string?> _oldCert = new("--oldcert") { Description = "kur: the certificate to update (must be --cert, which signs the request; the default); rr: the certificate to revoke", HelpName = "FILE" };
    private readonly Option<string?> _reason = new("--reason") { Description = "rr: CRLReason (RFC 5280 §5.3.1) by name or code: unspecified (0, the default), keyCompromise (1), affiliationChanged (3), superseded (4), cessationOfOperation (5) …", HelpName = "NAME|CODE" };
    private readonly Option<string?> _oldWithOld = new("--oldwithold") { Description = "genm rootCaCert: the root CA certificate this client trusts now, sent as RootCaCertValue (PEM)", HelpName = "FILE" };
    private readonly Option<string[]> _infoType = new("--infotype") { Description = "genm: caCerts, rootCaCert, certReqTemplate or crls (repeatable)", HelpName = "TYPE", AllowMultipleArgumentsPerToken = false };
    private readonly Option<double> _maxWait = new("--max-wait") { Description = "While the server says waiting (enrollments: poll) or busy (CoAP 5.03/4.29, HTTP 503/429: send again), keep at it for at most this many seconds (default 300)", HelpName = "SECONDS", DefaultValueFactory = _ => 300 };
    private readonly Option<double> _timeout = new("--timeout") { Description = "Give up on a handshake or request with no answer after this many seconds", HelpName = "SECONDS", DefaultValueFactory = _ => 60 };

    private CmpCommand(string operation) => _operation = operation;

    public static Command Create()
    {
        var cmp = new Command("cmp", "CMP client (RFC 9810, Lightweight CMP Profile RFC 9483) over CoAP, CoAPS, HTTP or HTTPS. certConf is part of ir/cr/kur/p10cr unless --defer-confirm (then: certconf).");
        foreach (var (name, description) in new[]
        {
            ("ir", "Initialization request: a new P-256 key (--key-out) and a certificate for --subject; usually MAC-protected."),
            ("cr", "Certification request: like ir, signed with a certificate the CA already trusts (--cert/--key)."),
            ("kur", "Key update: a new key for the certificate in --cert (signed with it); same subject unless --subject."),
            ("p10cr", "PKCS#10 request (--csr, or a new key and CSR for --subject)."),
            ("rr", "Revocation request for --oldcert with --reason."),
            ("genm", "General message: --infotype caCerts|rootCaCert|certReqTemplate|crls."),
            ("certconf", "Confirm (or --reject) a certificate issued with --defer-confirm: --state FILE."),
        })
        {
            cmp.Subcommands.Add(new CmpCommand(name).Build(description));
        }

        cmp.Subcommands.Add(CmpSecretsCommand.Create());
        return cmp;
    }

    private Command Build(string description)
    {
        var command = new Command(_operation, description) { _server, _ref, _secretEnv, _pbmac1, _allowSha1, _cert, _key, _trust, _pskIdentity, _pskKey };
        if (_operation is "ir" or "cr" or "kur" or "p10cr")
        {
            command.Options.Add(_subject);
            command.Options.Add(_san);
            command.Options.Add(_keyOut);
            command.Options.Add(_chainOut);
            command.Options.Add(_caCertsOut);
            command.Options.Add(_implicitConfirm);
            command.Options.Add(_deferConfirm);
        }

        if (_operation == "p10cr")
        {
            command.Options.Add(_csr);
        }
        else if (_operation is "ir" or "cr" or "kur")
        {
            command.Options.Add(_centralKeyGen);
        }

        if (_operation is "kur" or "rr")
        {
            command.Options.Add(_oldCert);
        }

        if (_operation == "rr")
        {
            command.Options.Add(_reason);
        }

        if (_operation == "genm")
        {
            command.Options.Add(_infoType);
            command.Options.Add(_oldWithOld);
        }

        if (_operation == "certconf")
        {
            command.Options.Add(_state);
            command.Options.Add(_reject);
        }

        if (_operation is not ("rr" or "certconf"))
        {
            command.Options.Add(_out);
        }

        // Every operation may meet a busy server; only enrollments can also be told "waiting" (pollRep).
        command.Options.Add(_maxWait);
        command.Options.Add(_timeout);
        command.SetAction(RunAsync);
        return command;
    }

    private async Task<int> RunAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        TextWriter stdout = parseResult.InvocationConfiguration.Output;
        TextWriter stderr = parseResult.InvocationConfiguration.Error;
        string serverText = parseResult.GetRequiredValue(_server);
        double timeoutSeconds = parseResult.GetValue(_timeout);
        if (!(timeoutSeconds > 0) || timeoutSeconds > int.MaxValue)
        {
            throw new CliException(ExitCodes.Usage, $"--timeout {timeoutSeconds.ToString(CultureInfo.InvariantCulture)}: must be a positive number of seconds.");
        }

        double maxWait = parseResult.GetValue(_maxWait);
        if (!(maxWait >= 0) || maxWait > int.MaxValue)
        {
            throw new CliException(ExitCodes.Usage, $"--max-wait {maxWait.ToString(CultureInfo.InvariantCulture)}: must be zero or a positive number of seconds.");
        }

        TimeSpan timeout = TimeSpan.FromSeconds(timeoutSeconds);
        var options = await LoadProtectionAsync(parseResult, cancellationToken);
        options.MaxPollWait = TimeSpan.FromSeconds(maxWait);
        options.ImplicitConfirm = parseResult.GetValue(_implicitConfirm);
        options.DeferConfirmation = parseResult.GetValue(_deferConfirm) is not null;
        if (options.DeferConfirmation && options.ImplicitConfirm)
        {
            throw new CliException(ExitCodes.Usage, "--defer-confirm and --implicit-confirm exclude each other: a deferred certConf needs a certificate that waits for it.");
        }

        options.Waiting = new LineProgress(stderr, _operation);

        // Every input is read before anything goes on the wire.
        var inputs = await ReadInputsAsync(parseResult, options, cancellationToken);
        var (transport, disposable, target) = await ConnectAsync(parseResult, serverText, options, timeout, cancellationToken);
        try
        {
            var client = new CmpClient(transport, options);
            switch (_operation)
            {
                case "rr":
                    CmpRevocationStatus revocation = await client.RevokeAsync(inputs.OldCertificate!, ReasonOf(parseResult.GetValue(_reason)), cancellationToken);
                    // Already revoked is what the repeat of an rr whose answer was lost meets: the certificate is revoked, as asked.
                    await stdout.WriteLineAsync(revocation == CmpRevocationStatus.AlreadyRevoked
                        ? $"Serial {inputs.OldCertificate!.SerialNumber} ('{inputs.OldCertificate.Subject}') was already revoked (the server refused the rr with certRevoked); nothing changed"
                        : $"Revoked serial {inputs.OldCertificate!.SerialNumber} ('{inputs.OldCertificate.Subject}')");
                    return ExitCodes.Success;
                case "genm":
                    return await GeneralAsync(client, parseResult, stdout, cancellationToken);
                case "certconf":
                    string? rejection = parseResult.GetValue(_reject);
                    await client.ConfirmAsync(inputs.Pending!, rejection, cancellationToken);
                    await stdout.WriteLineAsync(rejection is null
                        ? $"Confirmed serial {inputs.Pending!.Certificate.SerialNumber} ('{inputs.Pending.Certificate.Subject}')"
                        : $"Rejected serial {inputs.Pending!.Certificate.SerialNumber} ('{inputs.Pending.Certificate.Subject}'); the server revokes it");
                    return ExitCodes.Success;
                default:
                    return await EnrollAsync(client, parseResult, inputs, stdout, cancellationToken);
            }
        }
        catch (CmpException ex) when (ex.GaveUpWaiting)
        {
            // The server holds the request (waiting for an operator): as EST's 5.03 past --max-wait, a server-side condition.
            throw new CliException(ExitCodes.ServerError, $"CMP {_operation} with {target}: {ex.Message.TrimEnd('.')}.", ex);
        }
        catch (CmpException ex) when (ex.IsRefusal)
        {
            throw new CliException(ExitCodes.ClientError, $"CMP {_operation} with {target}: {ex.Message.TrimEnd('.')}.", ex);
        }
        catch (CmpException ex)
        {
            throw new CliException(ExitCodes.Failure, $"CMP {_operation} with {target}: {ex.Message.TrimEnd('.')}.", ex);
        }
        catch (CmpTransportException ex)
        {
            int code = ex.Status is null ? ExitCodes.Failure : ex.IsServerError ? ExitCodes.ServerError : ExitCodes.ClientError;
            throw new CliException(code, $"CMP {_operation} refused by {target}: {ex.Message.TrimEnd('.')}.", ex);
        }
        catch (CoapProtocolException ex) when (ex.Error == CoapError.Timeout)
        {
            throw new CliException(ExitCodes.NoResponse, $"CMP {_operation}: no response from {target}: {ex.Message.TrimEnd('.')}. {NoAnswerHint(target)}", ex);
        }
        catch (CoapProtocolException ex)
        {
            throw new CliException(ExitCodes.NoResponse, $"CMP {_operation} with {target} failed: {ex.Message}", ex);
        }
        catch (HttpRequestException ex)
        {
            throw new CliException(ExitCodes.NoResponse, $"CMP {_operation} with {target} failed: {ex.Message}", ex);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new CliException(ExitCodes.NoResponse,
                $"CMP {_operation}: no response from {target} within {timeoutSeconds.ToString(CultureInfo.InvariantCulture)} s. {NoAnswerHint(target)}");
        }
        finally
        {
            await disposable.DisposeAsync();
        }
    }

    /// <summary>What to check when a request to <paramref name="target"/> (as <see cref="ConnectAsync"/> names it) went unanswered.</summary>
    private static string NoAnswerHint(string target) =>
        target.StartsWith("coaps://", StringComparison.Ordinal) ? SecureTarget.NoAnswerAfterHandshakeHint
        : target.StartsWith("coap://", StringComparison.Ordinal) ? SecureTarget.NoAnswerHint
        : "The server accepted the connection but sent no HTTP answer: check that the URI's path is its CMP endpoint (default /.well-known/cmp), "
            + "that the server's log shows the request (a proxy waits on its upstream CA), and give --timeout more seconds if it needs longer.";

    private sealed record Inputs(AsymmetricAlgorithm? NewKey, X500DistinguishedName? Subject, byte[]? Csr, X509Certificate2? OldCertificate, CmpPendingConfirmation? Pending = null,
        IReadOnlyList<X509Extension>? Extensions = null);

    private async Task<Inputs> ReadInputsAsync(ParseResult parseResult, CmpClientOptions options, CancellationToken cancellationToken)
    {
        string? subjectText = parseResult.GetValue(_subject);
        X500DistinguishedName? subject = subjectText is null ? null : EstCommand.ParseSubject(subjectText);
        string? keyOut = parseResult.GetValue(_keyOut);
        string? csrFile = parseResult.GetValue(_csr);
        X509Certificate2? old = null;
        if (parseResult.GetValue(_oldCert) is { } oldFile)
        {
            old = (await LoadCertificatesAsync(oldFile, "--oldcert", cancellationToken))[0];
        }

        switch (_operation)
        {
            case "rr":
                return old is null
                    ? throw new CliException(ExitCodes.Usage, "rr needs --oldcert FILE: the certificate to revoke.")
                    : new Inputs(null, null, null, old);
            case "certconf":
                string state = parseResult.GetValue(_state) ?? throw new CliException(ExitCodes.Usage, "certconf needs --state FILE: the file 'cmp ir|cr|kur|p10cr --defer-confirm FILE' wrote.");
                if (parseResult.GetValue(_reject) is { Length: 0 })
                {
                    throw new CliException(ExitCodes.Usage, "--reject needs a reason.");
                }

                return new Inputs(null, null, null, null, await CmpConfirmationFile.ReadAsync(state, cancellationToken));
            case "genm":
                return (parseResult.GetValue(_infoType) ?? []).Length == 0
                    ? throw new CliException(ExitCodes.Usage, $"genm needs --infotype {string.Join('|', InfoTypes.Keys)}.")
                    : new Inputs(null, null, null, null);
            case "kur":
                if (options.Certificate is null)
                {
                    throw new CliException(ExitCodes.Usage, "kur is signed with the certificate it updates: give --cert and --key.");
                }

                if (old is not null && !old.RawData.AsSpan().SequenceEqual(options.Certificate.RawData))
                {
                    throw new CliException(ExitCodes.Usage, "kur: --oldcert must be the certificate of --cert, which signs the key update.");
                }

                subject ??= options.Certificate.SubjectName;
                break;
            case "cr" when options.Certificate is null:
                throw new CliException(ExitCodes.Usage, "cr is signed with a certificate the CA trusts: give --cert and --key (use ir with a MAC reference).");
        }

        X509Extension? san = SubjectAltName(parseResult.GetValue(_san) ?? []);
        if (csrFile is not null)
        {
            if (subject is not null || keyOut is not null || san is not null)
            {
                throw new CliException(ExitCodes.Usage, "--csr carries its own subject, subjectAltName and key: --subject, --san and --key-out apply to a CSR made here.");
            }

            return new Inputs(null, null, await EstCommand.ReadCsrAsync(csrFile, cancellationToken), old);
        }

        if (subject is null)
        {
            throw new CliException(ExitCodes.Usage, $"{_operation} needs --subject DN (e.g. --subject CN=dev-1)" + (_operation == "p10cr" ? " or --csr FILE." : "."));
        }

        if (keyOut is null)
        {
            throw new CliException(ExitCodes.Usage, $"{_operation} makes a new P-256 key: give --key-out FILE to keep it.");
        }

        if (parseResult.GetValue(_centralKeyGen))
        {
            return options.TrustAnchors.Count == 0
                ? throw new CliException(ExitCodes.Usage, "--centralkeygen needs --trust FILE: the server signs the key it generates, and the signer must chain to it.")
                : new Inputs(null, subject, null, old, Extensions: san is null ? null : [san]);
        }

        AsymmetricAlgorithm key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[]? csr = null;
        if (_operation == "p10cr")
        {
            var request = new CertificateRequest(subject, (ECDsa)key, HashAlgorithmName.SHA256);
            if (san is not null)
            {
                request.CertificateExtensions.Add(san);
            }

            csr = request.CreateSigningRequest();
        }

        return new Inputs(key, subject, csr, old, Extensions: san is null ? null : [san]);
    }

    /// <summary>The subjectAltName extension for --san TYPE:VALUE …, or null when none is given.</summary>
    private static X509Extension? SubjectAltName(string[] names)
    {
        if (names.Length == 0)
        {
            return null;
        }

        var builder = new SubjectAlternativeNameBuilder();
        foreach (string name in names)
        {
            int colon = name.IndexOf(':', StringComparison.Ordinal);
            string type = colon > 0 ? name[..colon] : string.Empty;
            string value = colon > 0 ? name[(colon + 1)..] : string.Empty;
            if (value.Length == 0)
            {
                throw new CliException(ExitCodes.Usage, $"--san {name}: give TYPE:VALUE with TYPE DNS, IP, URI or email.");
            }

            switch (type.ToUpperInvariant())
            {
                case "DNS":
                    builder.AddDnsName(value);
                    break;
                case "IP":
                    builder.AddIpAddress(IPAddress.TryParse(value, out IPAddress? address) ? address
                        : throw new CliException(ExitCodes.Usage, $"--san {name}: not an IPv4 or IPv6 address."));
                    break;
                case "URI":
                    builder.AddUri(Uri.TryCreate(value, UriKind.Absolute, out Uri? uri) ? uri
                        : throw new CliException(ExitCodes.Usage, $"--san {name}: not an absolute URI."));
                    break;
                case "EMAIL":
                    builder.AddEmailAddress(value);
                    break;
                default:
                    throw new CliException(ExitCodes.Usage, $"--san {name}: TYPE is DNS, IP, URI or email.");
            }
        }

        return builder.Build();
    }

    private async Task<int> EnrollAsync(CmpClient client, ParseResult parseResult, Inputs inputs, TextWriter stdout, CancellationToken cancellationToken)
    {
        // The key is kept before the request goes out (as est does): a certificate issued later is useless without it.
        if (inputs.NewKey is { } key && parseResult.GetValue(_keyOut) is { } keyOut)
        {
            await WriteAsync(() => PemCredentialFiles.WritePrivateKeyAsync(keyOut, key, null, cancellationToken), keyOut);
        }

        PkiBodyType type = _operation switch { "ir" => PkiBodyType.Ir, "cr" => PkiBodyType.Cr, _ => PkiBodyType.Kur };
        CmpEnrollmentResult result = _operation != "p10cr" && inputs.NewKey is null
            ? await client.EnrollWithCentralKeyAsync(type, inputs.Subject, inputs.Extensions, cancellationToken)
            : _operation switch
        {
            "p10cr" => await client.Pkcs10Async(inputs.Csr!, cancellationToken),
            "ir" => await client.EnrollAsync(PkiBodyType.Ir, inputs.NewKey!, inputs.Subject, inputs.Extensions, cancellationToken),
            "cr" => await client.EnrollAsync(PkiBodyType.Cr, inputs.NewKey!, inputs.Subject, inputs.Extensions, cancellationToken),
            _ => await client.EnrollAsync(PkiBodyType.Kur, inputs.NewKey!, inputs.Subject, inputs.Extensions, cancellationToken),
        };

        if (result.PrivateKey is { } centralKey && parseResult.GetValue(_keyOut) is { } centralKeyOut)
        {
            using (centralKey)
            {
                await WriteAsync(() => PemCredentialFiles.WritePrivateKeyAsync(centralKeyOut, centralKey, null, cancellationToken), centralKeyOut);
            }
        }

        if (parseResult.GetValue(_chainOut) is { } chainOut)
        {
            await WriteAsync(() => PemCredentialFiles.WriteCertificatesAsync(chainOut, result.Chain, cancellationToken), chainOut);
        }

        if (parseResult.GetValue(_caCertsOut) is { } caCertsOut)
        {
            await WriteAsync(() => PemCredentialFiles.WriteCertificatesAsync(caCertsOut, result.CaPubs, cancellationToken), caCertsOut);
        }

        if (result.PendingConfirmation is { } pending && parseResult.GetValue(_deferConfirm) is { } stateFile)
        {
            await WriteAsync(() => CmpConfirmationFile.WriteAsync(stateFile, pending, cancellationToken), stateFile);
            string until = pending.ConfirmWaitTime is { } t ? $" before {t.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC" : string.Empty;
            await stdout.WriteLineAsync($"Not confirmed yet; confirm{until} with (or reject by adding --reject REASON): {HowToInvoke.Command("cmp", "certconf", "--state", stateFile)}");
        }

        if (parseResult.GetValue(_out) is { } outFile)
        {
            await WriteAsync(() => PemCredentialFiles.WriteCertificatesAsync(outFile, [result.Certificate], cancellationToken), outFile);
            string confirmed = result.ImplicitlyConfirmed ? "implicitly confirmed" : result.PendingConfirmation is not null ? "not yet confirmed" : "confirmed with certConf";
            await stdout.WriteLineAsync($"Wrote the certificate for '{result.Certificate.Subject}' (serial {result.Certificate.SerialNumber}, {confirmed}) to {outFile}");
        }
        else
        {
            await stdout.WriteAsync(result.Certificate.ExportCertificatePem() + "\n");
        }

        return ExitCodes.Success;
    }

    private async Task<int> GeneralAsync(CmpClient client, ParseResult parseResult, TextWriter stdout, CancellationToken cancellationToken)
    {
        var asked = new List<InfoTypeAndValue>();
        ReadOnlyMemory<byte>? oldRoot = null;
        if (parseResult.GetValue(_oldWithOld) is { } oldFile)
        {
            try
            {
                oldRoot = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(oldFile, cancellationToken)).RawData;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
            {
                throw new CliException(ExitCodes.Usage, $"--oldwithold {oldFile}: not a readable PEM certificate ({ex.Message}).", ex);
            }
        }

        foreach (string name in parseResult.GetValue(_infoType) ?? [])
        {
            string oid = InfoTypes.TryGetValue(name, out string? known) ? known
                : throw new CliException(ExitCodes.Usage, $"--infotype {name}: one of {string.Join(", ", InfoTypes.Keys)}.");
            asked.Add(new InfoTypeAndValue { InfoType = oid, Value = oid == CmpInfoTypes.RootCaCert ? oldRoot : null });
        }

        if (oldRoot is not null && !asked.Any(i => i.InfoType == CmpInfoTypes.RootCaCert))
        {
            throw new CliException(ExitCodes.Usage, "--oldwithold goes with --infotype rootCaCert.");
        }

        IReadOnlyList<InfoTypeAndValue> items = await client.GeneralAsync(asked, cancellationToken);
        var text = new StringBuilder();
        foreach (InfoTypeAndValue item in items)
        {
            text.Append(Describe(item));
        }

        if (parseResult.GetValue(_out) is { } outFile)
        {
            await WriteAsync(() => File.WriteAllTextAsync(outFile, text.ToString(), cancellationToken), outFile);
            await stdout.WriteLineAsync($"Wrote {items.Count} genp item{(items.Count == 1 ? string.Empty : "s")} to {outFile}");
        }
        else
        {
            await stdout.WriteAsync(text.ToString());
        }

        return ExitCodes.Success;
    }

    /// <summary>caCerts as CERTIFICATE blocks, crls as X509 CRL blocks; anything else as a line naming it (and its value's size).</summary>
    private static string Describe(InfoTypeAndValue item)
    {
        string? label = item.InfoType switch
        {
            CmpInfoTypes.CaCerts => "CERTIFICATE",
            CmpInfoTypes.Crls => "X509 CRL",
            _ => null,
        };
        if (label is not null && item.Value is { } value)
        {
            try
            {
                var reader = new AsnReader(value, AsnEncodingRules.DER).ReadSequence();
                var pem = new StringBuilder();
                while (reader.HasData)
                {
                    pem.Append(PemEncoding.WriteString(label, reader.ReadEncodedValue().Span)).Append('\n');
                }

                return pem.ToString();
            }
            catch (AsnContentException ex)
            {
                throw new CmpException($"the genp's {label} item does not decode: {ex.Message}", ex);
            }
        }

        if (item.InfoType == CmpInfoTypes.RootCaKeyUpdate && item.Value is { } update)
        {
            return DescribeRootCaKeyUpdate(update);
        }

        string name = item.InfoType switch
        {
            CmpInfoTypes.RootCaKeyUpdate => "rootCaKeyUpdate",
            CmpInfoTypes.CertReqTemplate => "certReqTemplate",
            CmpInfoTypes.CaCerts => "caCerts",
            CmpInfoTypes.Crls => "crls",
            _ => item.InfoType,
        };
        return item.Value is { } v ? $"{name}: {Convert.ToBase64String(v.Span)}\n" : $"{name}: (none)\n";
    }

    /// <summary>
    /// RootCaKeyUpdateContent (RFC 9810 §5.3.19.15) as three CERTIFICATE blocks, each after a line naming it (newWithNew first, so
    /// that tools reading the first certificate get the new root).
    /// </summary>
    private static string DescribeRootCaKeyUpdate(ReadOnlyMemory<byte> value)
    {
        try
        {
            var outer = new AsnReader(value, AsnEncodingRules.DER);
            AsnReader content = outer.ReadSequence();
            outer.ThrowIfNotEmpty();
            var pem = new StringBuilder("rootCaKeyUpdate newWithNew (the new root CA certificate):\n")
                .Append(PemEncoding.WriteString("CERTIFICATE", content.ReadEncodedValue().Span)).Append('\n');
            foreach ((int tag, string label) in (ReadOnlySpan<(int, string)>)[(0, "newWithOld (the new root's key signed with the old root's)"), (1, "oldWithNew (the old root's key signed with the new root's)")])
            {
                if (content.HasData && content.PeekTag().HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, tag)))
                {
                    AsnReader inner = content.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, tag));
                    pem.Append($"rootCaKeyUpdate {label}:\n").Append(PemEncoding.WriteString("CERTIFICATE", inner.ReadEncodedValue().Span)).Append('\n');
                    inner.ThrowIfNotEmpty();
                }
            }

            content.ThrowIfNotEmpty();
            return pem.ToString();
        }
        catch (AsnContentException ex)
        {
            throw new CmpException($"the genp's rootCaKeyUpdate item does not decode: {ex.Message}", ex);
        }
    }

    private async Task<CmpClientOptions> LoadProtectionAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        string? reference = parseResult.GetValue(_ref);
        string? secretEnv = parseResult.GetValue(_secretEnv);
        string? cert = parseResult.GetValue(_cert);
        string? key = parseResult.GetValue(_key);
        if ((reference is null) != (secretEnv is null))
        {
            throw new CliException(ExitCodes.Usage, "--ref and --secret-env go together: give both or neither.");
        }

        if ((cert is null) != (key is null))
        {
            throw new CliException(ExitCodes.Usage, "--cert and --key go together: give both or neither.");
        }

        if ((reference is null) == (cert is null))
        {
            throw new CliException(ExitCodes.Usage, "Protect the request with a MAC (--ref REF --secret-env NAME) or a signature (--cert FILE --key FILE): one of them.");
        }

        if (parseResult.GetValue(_pbmac1) && reference is null)
        {
            throw new CliException(ExitCodes.Usage, "--pbmac1 applies to MAC protection (--ref/--secret-env).");
        }

        var options = new CmpClientOptions();
        if (parseResult.GetValue(_trust) is { } trust)
        {
            options.TrustAnchors.AddRange((await LoadCertificatesAsync(trust, "--trust", cancellationToken)).ToArray());
        }

        if (reference is not null)
        {
            string? secret = Environment.GetEnvironmentVariable(secretEnv!);
            if (string.IsNullOrEmpty(secret))
            {
                throw new CliException(ExitCodes.Usage, $"--secret-env {secretEnv}: the environment variable is not set or empty.");
            }

            options.Reference = reference;
            options.SharedSecret = Encoding.UTF8.GetBytes(secret);
            options.MacParameters = parseResult.GetValue(_pbmac1) ? CmpMacParameters.Pbmac1() : CmpMacParameters.PasswordBasedMac();
            options.AnswerMacPolicy.AllowHmacSha1 = parseResult.GetValue(_allowSha1);
            return options;
        }

        try
        {
            var (certificate, chain) = await PemCredentialFiles.LoadCertificateWithKeyAsync(cert!, key!, null, cancellationToken);
            options.Certificate = certificate;
            foreach (X509Certificate2 extra in chain)
            {
                options.ExtraCertificates.Add(extra);
            }
        }
        catch (CredentialFileException ex)
        {
            throw SecureTarget.CredentialFailure(ex, null);
        }

        return options;
    }

    private static async Task<IReadOnlyList<X509Certificate2>> LoadCertificatesAsync(string file, string option, CancellationToken cancellationToken)
    {
        try
        {
            IReadOnlyList<X509Certificate2> certificates = await PemCredentialFiles.LoadCertificatesAsync(file, cancellationToken);
            return certificates.Count > 0 ? certificates : throw new CliException(ExitCodes.Usage, $"{option} '{file}' holds no certificate.");
        }
        catch (CredentialFileException ex)
        {
            throw new CliException(ExitCodes.Usage, $"{option}: {ex.Message}", ex);
        }
    }

    /// <summary>The transport for --server (connected, for coaps://), what to dispose afterwards, and how to name the server in messages.</summary>
    private async Task<(ICmpTransport Transport, IAsyncDisposable Disposable, string Target)> ConnectAsync(ParseResult parseResult, string text,
        CmpClientOptions options, TimeSpan timeout, CancellationToken cancellationToken)
    {
        string? pskIdentity = parseResult.GetValue(_pskIdentity);
        string? pskKey = parseResult.GetValue(_pskKey);
        if ((pskIdentity is null) != (pskKey is null))
        {
            throw new CliException(ExitCodes.Usage, "--psk-identity and --psk-key go together: give both or neither.");
        }

        if (text.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            if (!Uri.TryCreate(text, UriKind.Absolute, out Uri? uri) || !string.IsNullOrEmpty(uri.Query))
            {
                throw new CliException(ExitCodes.Usage, $"--server: not an http(s) URI without query: {text}.");
            }

            if (pskIdentity is not null)
            {
                throw new CliException(ExitCodes.Usage, "--psk-identity/--psk-key apply to coaps:// only.");
            }

            if (uri.AbsolutePath is "" or "/")
            {
                uri = new UriBuilder(uri) { Path = DefaultPath }.Uri;
            }

            var handler = new SocketsHttpHandler();
            if (uri.Scheme == Uri.UriSchemeHttps && options.TrustAnchors.Count > 0)
            {
                X509Certificate2Collection anchors = options.TrustAnchors;
                handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
                {
                    if (certificate is null || (errors & System.Net.Security.SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
                    {
                        return false;
                    }

                    using var custom = new X509Chain();
                    custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    custom.ChainPolicy.CustomTrustStore.AddRange(anchors);
                    custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    if (chain is not null)
                    {
                        foreach (X509ChainElement element in chain.ChainElements)
                        {
                            custom.ChainPolicy.ExtraStore.Add(element.Certificate);
                        }
                    }

                    return custom.Build(new X509Certificate2(certificate));
                };
            }

            var http = new HttpClient(handler) { Timeout = timeout };
            return (new CmpHttpTransport(http, uri), new DisposeAction(http), uri.ToString());
        }

        CoapUri coapUri;
        try
        {
            coapUri = CoapUri.Parse(text);
        }
        catch (CoapProtocolException ex)
        {
            throw new CliException(ExitCodes.Usage, $"--server: {ex.Message} (coap://, coaps://, http:// or https://)", ex);
        }

        if (coapUri.QueryParts.Count > 0)
        {
            throw new CliException(ExitCodes.Usage, $"--server takes no query: {text}.");
        }

        List<string> segments = [.. coapUri.PathSegments.Where(s => s.Length > 0)];
        string path = segments.Count == 0 ? DefaultPath : "/" + string.Join('/', segments);
        var coapOptions = new CoapClientOptions();
        coapOptions.Endpoint.ResponseTimeout = timeout;
        SecureTarget.BoundRetransmissions(coapOptions.Endpoint, timeout);
        IPEndPoint remote = await SecureTarget.ResolveAsync(coapUri, cancellationToken);
        if (!coapUri.IsSecure)
        {
            if (pskIdentity is not null)
            {
                throw new CliException(ExitCodes.Usage, $"--psk-identity/--psk-key apply to coaps:// only: {text}.");
            }

            var client = new CoapClient(UdpDatagramChannel.ConnectTo(remote), coapOptions);
            var plain = new CmpCoapTransport(client, remote, path);
            return (plain, plain, $"coap://{remote}{path}");
        }

        if (options.TrustAnchors.Count == 0 && pskIdentity is null)
        {
            throw new CliException(ExitCodes.Usage, $"coaps:// needs --trust FILE (the server certificate's trust anchors) or --psk-identity/--psk-key: {text}.");
        }

        var dtls = new DtlsClientOptions { ServerName = coapUri.HostAddress is null ? coapUri.Host : null };
        dtls.ServerCertificateTrustAnchors.AddRange(options.TrustAnchors.ToArray());
        if (pskIdentity is not null)
        {
            dtls.PskIdentity = Encoding.UTF8.GetBytes(pskIdentity);
            dtls.PskKey = Hosting.DtlsListenOptions.TryParseHexKey(pskKey)
                ?? throw new CliException(ExitCodes.Usage, "--psk-key: not a key in hex (an even number of 0-9a-f digits, optionally 0x-prefixed).");
            if (options.TrustAnchors.Count == 0)
            {
                dtls.CipherSuites = [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8];
            }
        }

        DtlsClientChannel channel = await SecureTarget.ConnectAsync(remote, dtls, timeout, cancellationToken);
        var secure = new CmpCoapTransport(new CoapClient(channel, coapOptions), channel.RemoteEndPoint, path);
        return (secure, secure, $"coaps://{remote}{path}");
    }

    private static async Task WriteAsync(Func<Task> write, string path)
    {
        try
        {
            await write();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.Usage, $"Cannot write '{path}': {ex.Message}", ex);
        }
    }

    /// <summary>The CRLReason of --reason, by name (as 'requests revoke' takes it) or number; unspecified (0) when not given.</summary>
    private static int ReasonOf(string? text)
    {
        if (text is null)
        {
            return 0;
        }

        return RevocationReasons.TryParse(text, out int code)
            ? code
            : throw new CliException(ExitCodes.Usage, $"--reason '{RequestsCommand.Cell(text)}': {RevocationReasons.ValidText}, by name (e.g. keyCompromise) or number.");
    }

    /// <summary>"cmp ir: waiting (reason); polling again in N s" or "cmp ir: server busy (reason); sending again in N s" on stderr, written at once.</summary>
    private sealed class LineProgress(TextWriter stderr, string operation) : IProgress<CmpWaiting>
    {
        public void Report(CmpWaiting value)
        {
            string reason = value.Reason.Length > 0 ? $" ({value.Reason})" : string.Empty;
            // Tenths: a busy wait carries a random share on top of the server's whole seconds.
            string seconds = value.CheckAfter.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture);
            stderr.WriteLine(value.Resend
                ? $"cmp {operation}: server busy{reason}; sending again in {seconds} s"
                : $"cmp {operation}: waiting{reason}; polling again in {seconds} s");
            stderr.Flush();
        }
    }

    private sealed class DisposeAction(IDisposable disposable) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            disposable.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
