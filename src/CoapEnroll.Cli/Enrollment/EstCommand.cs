using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CoapEnroll.Cli.Client;
using CoapEnroll.Coap;
using CoapEnroll.Dtls;
using CoapEnroll.Est;
using CoapEnroll.Pkix;
using CertificateRequest = System.Security.Cryptography.X509Certificates.CertificateRequest;

namespace CoapEnroll.Cli.Enrollment;

/// <summary>
/// <c>coapenroll est crts|enroll|reenroll|csrattrs|serverkeygen --server coaps://HOST[:PORT][/LABEL] --trust ANCHOR.pem …</c>:
/// an EST-coaps client (RFC 9148) for devices and operators. Every problem is one line on stderr and an exit code from
/// <see cref="ExitCodes"/> (a 4.xx answer → 4, 5.xx → 5, no answer or a failed handshake → 3, bad input → 2).
/// </summary>
internal sealed class EstCommand
{
    private const int DefaultMaxWaitSeconds = 300;

    private readonly string _operation;
    private readonly Option<string> _server = new("--server")
    {
        Description = "coaps://HOST[:PORT][/LABEL]: the EST server; a single path segment is a label (CA profile) under /.well-known/est, "
            + "/.well-known/est[/LABEL] is explicit, any other path is a root found through discovery (GET /.well-known/core?rt=ace.est*)",
        HelpName = "URI",
        Required = true,
    };

    private readonly Option<string> _trust = new("--trust") { Description = "PEM file of trust anchors the server certificate must chain to (DIR/trust-anchor.pem of serve)", HelpName = "FILE", Required = true };
    private readonly Option<string?> _cert = new("--cert") { Description = "Client certificate (PEM, leaf first): the device's manufacturer certificate (IDevID) or one this CA issued", HelpName = "FILE" };
    private readonly Option<string?> _key = new("--key") { Description = "Private key (PEM) of --cert", HelpName = "FILE" };
    private readonly Option<string?> _passphraseEnv = new("--key-passphrase-env") { Description = "Environment variable holding the passphrase of an encrypted --key", HelpName = "NAME" };
    private readonly Option<string?> _csr = new("--csr") { Description = "Send this PKCS#10 request (PEM or DER) instead of making a key and CSR", HelpName = "FILE" };
    private readonly Option<string?> _subject = new("--subject") { Description = "Subject of the CSR made here, RFC 4514 form: CN=dev-1,O=Acme (reenroll: default the subject of --cert)", HelpName = "DN" };
    private readonly Option<string?> _out = new("--out", "-o") { Description = "Write the certificate(s) here as PEM (default: stdout)", HelpName = "FILE" };
    private readonly Option<string?> _keyOut = new("--key-out") { Description = "Write the new private key here (PEM PKCS#8, owner-only); required when a key is made", HelpName = "FILE" };
    private readonly Option<string?> _csrOut = new("--csr-out") { Description = "Also write the CSR made here (PEM), to repeat the identical request later with --csr", HelpName = "FILE" };
    private readonly Option<int?> _accept = new("--accept", "-A") { Description = "Certificate format to ask for: 281 (PKCS#7 certs-only, the default) or 287 (one DER certificate)", HelpName = "CT" };
    private readonly Option<int?> _blockSize = new("--block-size", "-b") { Description = "Block size for block-wise transfers: 16, 32, 64, 128, 256, 512 or 1024", HelpName = "SIZE" };
    private readonly Option<bool> _popLink = new("--pop-link") { Description = "Put the DTLS session's tls-unique into the CSR's challengePassword (RFC 7030 §3.5); not with --csr" };
    private readonly Option<string?> _encryptCert = new("--encrypt-cert")
    {
        Description = "serverkeygen: ask for the key encrypted (280) to this certificate (PEM; RSA key transport or EC key agreement, RFC 7030 §4.4.1.2); with --encrypt-key",
        HelpName = "FILE",
    };

    private readonly Option<string?> _encryptKey = new("--encrypt-key") { Description = "Private key (PEM) of --encrypt-cert, to open the answer (--key-passphrase-env applies)", HelpName = "FILE" };
    private readonly Option<string?> _kekId = new("--kek-id")
    {
        Description = "serverkeygen: ask for the key encrypted (280) under the symmetric key the server knows by this identifier (hex, RFC 7030 §4.4.1.1); with --kek-env",
        HelpName = "HEX",
    };

    private readonly Option<string?> _kekEnv = new("--kek-env") { Description = "Environment variable holding that AES key in base64 (16, 24 or 32 bytes)", HelpName = "NAME" };
    private readonly Option<double> _maxWait = new("--max-wait")
    {
        Description = $"While the server answers 5.03 (pending approval), resend after its Max-Age for at most this many seconds (default {DefaultMaxWaitSeconds}; 0: do not wait)",
        HelpName = "SECONDS",
        DefaultValueFactory = _ => DefaultMaxWaitSeconds,
    };

    private readonly Option<string?> _extendedMasterSecret = SecureTarget.CreateExtendedMasterSecretOption();
    private readonly Option<double> _timeout = new("--timeout") { Description = "Give up on a handshake or request with no answer after this many seconds", HelpName = "SECONDS", DefaultValueFactory = _ => 60 };

    private EstCommand(string operation) => _operation = operation;

    public static Command Create()
    {
        var est = new Command("est", "EST-coaps client (RFC 9148): CA certificates, enrollment, re-enrollment, CSR attributes, server-side key generation.");
        foreach (var (name, description) in new[]
        {
            ("crts", "Get the CA certificates (/crts) and write them as a PEM chain."),
            ("enroll", "Enroll (/sen): send a CSR (--csr, or a new P-256 key and CSR for --subject) and write the issued certificate."),
            ("reenroll", "Re-enroll (/sren) with the certificate this CA issued as --cert: same subject, new key (or --csr)."),
            ("csrattrs", "Get the CSR attributes the server wants (/att) and print them."),
            ("serverkeygen", "Server-side key generation (/skg; with --accept 287 /skc): write the certificate and the key the server made."),
        })
        {
            est.Subcommands.Add(new EstCommand(name).Build(description));
        }

        return est;
    }

    private Command Build(string description)
    {
        var command = new Command(_operation, description) { _server, _trust, _cert, _key, _passphraseEnv };
        if (_operation is "enroll" or "reenroll" or "serverkeygen")
        {
            command.Options.Add(_csr);
            command.Options.Add(_subject);
            command.Options.Add(_keyOut);
        }

        if (_operation == "serverkeygen")
        {
            command.Options.Add(_encryptCert);
            command.Options.Add(_encryptKey);
            command.Options.Add(_kekId);
            command.Options.Add(_kekEnv);
        }

        if (_operation is "enroll" or "reenroll")
        {
            command.Options.Add(_csrOut);
            command.Options.Add(_popLink);
        }

        if (_operation != "csrattrs")
        {
            command.Options.Add(_accept);
        }

        command.Options.Add(_out);
        command.Options.Add(_blockSize);
        command.Options.Add(_maxWait);
        command.Options.Add(_timeout);
        command.Options.Add(_extendedMasterSecret);
        command.SetAction(RunAsync);
        return command;
    }

    private async Task<int> RunAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        TextWriter stdout = parseResult.InvocationConfiguration.Output;
        var (uri, clientOptions) = ParseServer(parseResult.GetRequiredValue(_server));
        EstCertificateFormat format = ParseAccept(parseResult.GetValue(_accept));
        if (parseResult.GetValue(_blockSize) is { } size)
        {
            if (size < 16 || size > 1024 || (size & (size - 1)) != 0)
            {
                throw new CliException(ExitCodes.Usage, $"--block-size {size} is not one of 16, 32, 64, 128, 256, 512, 1024.");
            }

            clientOptions.Coap.BlockSize = size;
        }

        double maxWait = parseResult.GetValue(_maxWait);
        double timeoutSeconds = parseResult.GetValue(_timeout);
        if (!(maxWait >= 0) || maxWait > int.MaxValue)
        {
            throw new CliException(ExitCodes.Usage, $"--max-wait {maxWait.ToString(CultureInfo.InvariantCulture)}: must be zero or a positive number of seconds.");
        }

        if (!(timeoutSeconds > 0) || timeoutSeconds > int.MaxValue)
        {
            throw new CliException(ExitCodes.Usage, $"--timeout {timeoutSeconds.ToString(CultureInfo.InvariantCulture)}: must be a positive number of seconds.");
        }

        TimeSpan timeout = TimeSpan.FromSeconds(timeoutSeconds);
        clientOptions.MaxPendingWait = TimeSpan.FromSeconds(maxWait);
        clientOptions.Coap.Endpoint.ResponseTimeout = timeout;
        clientOptions.LinkProofOfPossession = parseResult.GetValue(_popLink);

        // Every input is checked before anything goes on the wire.
        string? csrFile = parseResult.GetValue(_csr);
        string? subjectText = parseResult.GetValue(_subject);
        string? keyOut = parseResult.GetValue(_keyOut);
        string? csrOut = parseResult.GetValue(_csrOut);
        string? outFile = parseResult.GetValue(_out);
        if (csrFile is not null && subjectText is not null)
        {
            throw new CliException(ExitCodes.Usage, "--csr and --subject exclude each other.");
        }

        if (csrFile is not null && (keyOut is not null || csrOut is not null || clientOptions.LinkProofOfPossession))
        {
            throw new CliException(ExitCodes.Usage, "--key-out, --csr-out and --pop-link apply to a CSR made here, not to --csr.");
        }

        byte[]? csrDer = csrFile is null ? null : await ReadCsrAsync(csrFile, cancellationToken);
        X500DistinguishedName? subject = subjectText is null ? null : ParseSubject(subjectText);
        DtlsClientOptions dtls = await LoadDtlsOptionsAsync(parseResult, uri, cancellationToken);

        // --trust is the explicit trust anchor database of RFC 7030 §3.6.1: it also vouches for the signer of an encrypted key.
        clientOptions.TrustAnchors.AddRange(dtls.ServerCertificateTrustAnchors.ToArray());
        if (_operation == "reenroll" && csrDer is null && subject is null)
        {
            subject = dtls.ClientCertificate?.SubjectName
                ?? throw new CliException(ExitCodes.Usage, "reenroll needs --cert (the certificate to renew) or --subject/--csr.");
        }

        if (_operation is "enroll" or "serverkeygen" && csrDer is null && subject is null)
        {
            throw new CliException(ExitCodes.Usage, $"{_operation} needs --subject DN (e.g. --subject CN=dev-1) or --csr FILE.");
        }

        if (_operation is "enroll" or "reenroll" or "serverkeygen" && csrDer is null && keyOut is null)
        {
            throw new CliException(ExitCodes.Usage, $"{_operation} makes a new private key: give --key-out FILE to keep it (or send your own CSR with --csr).");
        }

        KeyProtection? protection = _operation == "serverkeygen" ? await LoadKeyProtectionAsync(parseResult, cancellationToken) : null;
        IPEndPoint remote = await SecureTarget.ResolveAsync(uri, cancellationToken);
        DtlsClientChannel channel = await SecureTarget.ConnectAsync(remote, dtls, timeout, cancellationToken);
        await using var client = new EstCoapsClient(channel, clientOptions);
        try
        {
            // RFC 7627 §5.4: a legacy server's session has no tls-unique worth linking (the library would refuse to build the CSR).
            if (clientOptions.LinkProofOfPossession && !client.Session.IsExtendedMasterSecretNegotiated)
            {
                throw new CliException(ExitCodes.Failure, $"--pop-link needs a DTLS session with extended_master_secret, and {remote} did not negotiate it "
                    + "(RFC 7627): its tls-unique would not identify the session. Enroll without --pop-link.");
            }

            if (clientOptions.UseDiscovery)
            {
                RequireRoot(await client.DiscoverAsync(cancellationToken), clientOptions.Root, format, remote);
            }

            switch (_operation)
            {
                case "crts":
                    X509Certificate2Collection cas = await client.GetCaCertificatesAsync(format, cancellationToken);
                    await WriteCertificatesAsync(outFile, cas, stdout, cancellationToken);
                    return ExitCodes.Success;
                case "csrattrs":
                    await PrintAttributesAsync(await client.GetCsrAttributesAsync(cancellationToken), outFile, stdout, cancellationToken);
                    return ExitCodes.Success;
                case "serverkeygen":
                    return await ServerKeyGenAsync(client, csrDer, subject!, format, protection, outFile, keyOut!, stdout, cancellationToken);
                default:
                    return await EnrollAsync(client, csrDer, subject, format, outFile, keyOut, csrOut, stdout, cancellationToken);
            }
        }
        catch (EstRequestException ex)
        {
            throw Refused(ex, remote, csrOut ?? csrFile);
        }
        catch (CoapProtocolException ex)
        {
            throw new CliException(ExitCodes.NoResponse, $"EST request to {remote} failed: {ex.Message}", ex);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new CliException(ExitCodes.NoResponse, $"No response from {remote} within {timeoutSeconds.ToString(CultureInfo.InvariantCulture)} s.");
        }
        catch (InvalidDataException ex)
        {
            throw new CliException(ExitCodes.Failure, $"The server's answer is unusable: {ex.Message}", ex);
        }
    }

    private async Task<int> EnrollAsync(EstCoapsClient client, byte[]? csrDer, X500DistinguishedName? subject, EstCertificateFormat format, string? outFile,
        string? keyOut, string? csrOut, TextWriter stdout, CancellationToken cancellationToken)
    {
        using ECDsa? key = csrDer is null ? ECDsa.Create(ECCurve.NamedCurves.nistP256) : null;
        if (key is not null)
        {
            csrDer = client.CreateCsr(subject!, key);

            // Written before the request: a 5.03 must not lose the key, and --csr-out lets the identical request be repeated.
            await WritePrivateKeyAsync(keyOut!, key.ExportPkcs8PrivateKey(), cancellationToken);
            if (csrOut is not null)
            {
                await WriteTextAsync(csrOut, PemEncoding.WriteString("CERTIFICATE REQUEST", csrDer) + "\n", ownerOnly: false, cancellationToken);
            }
        }

        X509Certificate2 issued = _operation == "reenroll"
            ? await client.ReenrollAsync(csrDer, format, cancellationToken)
            : await client.EnrollAsync(csrDer!, format, cancellationToken);
        if (key is not null && !issued.PublicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(key.ExportSubjectPublicKeyInfo()))
        {
            throw new CliException(ExitCodes.Failure, "The issued certificate does not certify the key that was sent.");
        }

        await WriteCertificatesAsync(outFile, [issued], stdout, cancellationToken);
        if (outFile is not null)
        {
            await stdout.WriteLineAsync($"Issued {issued.Subject} (serial {issued.SerialNumber}, until {issued.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm} UTC)"
                + (keyOut is null ? string.Empty : $"; key in {keyOut}"));
        }

        return ExitCodes.Success;
    }

    private static async Task<int> ServerKeyGenAsync(EstCoapsClient client, byte[]? csrDer, X500DistinguishedName subject, EstCertificateFormat format,
        KeyProtection? protection, string? outFile, string keyOut, TextWriter stdout, CancellationToken cancellationToken)
    {
        bool single = format == EstCertificateFormat.PkixCert;
        EstServerKeyGenResult result;
        try
        {
            result = (csrDer, protection) switch
            {
                (null, { SymmetricKey: { } kek }) => await client.ServerKeyGenAsync(subject, kek, single, cancellationToken),
                (not null, { SymmetricKey: { } kek }) => await client.ServerKeyGenAsync(csrDer, kek, single, cancellationToken),
                (null, _) => await client.ServerKeyGenAsync(subject, single, protection?.Certificate, cancellationToken),
                (not null, _) => await client.ServerKeyGenAsync(csrDer, single, protection?.Certificate, cancellationToken),
            };
        }
        catch (CryptographicException ex)
        {
            string with = protection?.Certificate is not null ? "--encrypt-key" : "--kek-env";
            throw new CliException(ExitCodes.Failure, $"The encrypted key (280) is unusable: {ex.Message.TrimEnd('.')} (opened with {with}, signer checked against --trust).", ex);
        }

        await WritePrivateKeyAsync(keyOut, result.Pkcs8PrivateKey, cancellationToken);
        await WriteCertificatesAsync(outFile, [result.Certificate], stdout, cancellationToken);
        if (outFile is not null)
        {
            await stdout.WriteLineAsync($"Issued {result.Certificate.Subject} (serial {result.Certificate.SerialNumber}) with a key made by the server"
                + (result.KeyWasEncrypted ? " (delivered encrypted)" : string.Empty) + $"; key in {keyOut}");
        }

        return ExitCodes.Success;
    }

    /// <summary>What the generated key is to be encrypted to: a certificate with its private key, or a shared symmetric key.</summary>
    private sealed record KeyProtection(X509Certificate2? Certificate, EstSymmetricKey? SymmetricKey);

    private async Task<KeyProtection?> LoadKeyProtectionAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        string? certFile = parseResult.GetValue(_encryptCert);
        string? keyFile = parseResult.GetValue(_encryptKey);
        string? kekId = parseResult.GetValue(_kekId);
        string? kekEnv = parseResult.GetValue(_kekEnv);
        if ((certFile is null) != (keyFile is null))
        {
            throw new CliException(ExitCodes.Usage, "--encrypt-cert and --encrypt-key go together: give both or neither.");
        }

        if ((kekId is null) != (kekEnv is null))
        {
            throw new CliException(ExitCodes.Usage, "--kek-id and --kek-env go together: give both or neither.");
        }

        if (certFile is not null && kekId is not null)
        {
            throw new CliException(ExitCodes.Usage, "--encrypt-cert and --kek-id exclude each other: the key is encrypted to one of them.");
        }

        if (kekId is not null)
        {
            byte[] id;
            byte[] key;
            try
            {
                id = Convert.FromHexString(kekId);
            }
            catch (FormatException ex)
            {
                throw new CliException(ExitCodes.Usage, $"--kek-id '{kekId}' is not hexadecimal.", ex);
            }

            string? value = Environment.GetEnvironmentVariable(kekEnv!);
            if (string.IsNullOrEmpty(value))
            {
                throw new CliException(ExitCodes.Usage, $"--kek-env {kekEnv}: the environment variable is not set or empty.");
            }

            try
            {
                key = Convert.FromBase64String(value);
            }
            catch (FormatException ex)
            {
                throw new CliException(ExitCodes.Usage, $"--kek-env {kekEnv}: the value is not base64.", ex);
            }

            if (id.Length == 0 || key.Length is not (16 or 24 or 32))
            {
                throw new CliException(ExitCodes.Usage, $"--kek-env {kekEnv}: an AES key-encryption key has 16, 24 or 32 bytes, not {key.Length}" + (id.Length == 0 ? "; --kek-id is empty." : "."));
            }

            return new KeyProtection(null, new EstSymmetricKey(id, key));
        }

        if (certFile is null)
        {
            return null;
        }

        string? passphrase = ReadPassphrase(parseResult);
        try
        {
            X509Certificate2 certificate = (await PemCredentialFiles.LoadCertificatesAsync(certFile, cancellationToken))[0];
            using AsymmetricAlgorithm key = await PemCredentialFiles.LoadPrivateKeyAsync(keyFile!, passphrase, cancellationToken);
            if (certificate.Extensions.OfType<X509SubjectKeyIdentifierExtension>().FirstOrDefault() is null)
            {
                throw new CliException(ExitCodes.Usage, $"--encrypt-cert '{certFile}' has no subject key identifier to name it by (AsymmetricDecryptKeyIdentifier).");
            }

            return new KeyProtection(AttachDecryptionKey(certificate, key, certFile, keyFile!), null);
        }
        catch (CredentialFileException ex)
        {
            throw SecureTarget.CredentialFailure(ex, _passphraseEnv.Name);
        }
    }

    private static X509Certificate2 AttachDecryptionKey(X509Certificate2 certificate, AsymmetricAlgorithm key, string certFile, string keyFile)
    {
        if (!certificate.PublicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(key.ExportSubjectPublicKeyInfo()))
        {
            throw new CliException(ExitCodes.Usage, $"--encrypt-key '{keyFile}' is not the key of --encrypt-cert '{certFile}'.");
        }

        return CertificateKeys.AttachPrivateKey(certificate, key);
    }

    /// <summary>
    /// The root named in --server must be where the server announces this operation's resource: the client library would otherwise
    /// use the resource under another root, which may belong to another CA. An operation not announced at all is the library's error.
    /// </summary>
    private void RequireRoot(IReadOnlyDictionary<string, string> discovered, string root, EstCertificateFormat format, IPEndPoint remote)
    {
        string resourceType = "ace.est." + _operation switch
        {
            "crts" => "crts",
            "enroll" => "sen",
            "reenroll" => "sren",
            "csrattrs" => "att",
            _ => format == EstCertificateFormat.PkixCert ? "skc" : "skg",
        };
        if (discovered.TryGetValue(resourceType, out string? path) && path[..Math.Max(0, path.LastIndexOf('/'))] is var announced && announced != root)
        {
            throw new CliException(ExitCodes.Failure, $"EST {_operation}: {remote} announces no EST root {root}: discovery (GET /.well-known/core?rt=ace.est*) "
                + $"lists {resourceType} under {announced}.");
        }
    }

    /// <summary>Splits --server into the DTLS target and the EST root/label (see the option's description).</summary>
    internal static (CoapUri Uri, EstClientOptions Options) ParseServer(string text)
    {
        CoapUri uri;
        try
        {
            uri = CoapUri.Parse(text);
        }
        catch (CoapProtocolException ex)
        {
            throw new CliException(ExitCodes.Usage, $"--server: {ex.Message}", ex);
        }

        if (!uri.IsSecure)
        {
            throw new CliException(ExitCodes.Usage, $"--server must be a coaps:// URI (EST-coaps runs over DTLS only): {text}.");
        }

        if (uri.QueryParts.Count > 0)
        {
            throw new CliException(ExitCodes.Usage, $"--server takes no query: {text}.");
        }

        var options = new EstClientOptions();
        IReadOnlyList<string> path = uri.PathSegments.Where(s => s.Length > 0).ToList();
        bool wellKnown = path.Count >= 2 && path[0] == ".well-known" && path[1] == "est";
        if (path.Count == 0 || (wellKnown && path.Count == 2))
        {
            return (uri, options);
        }

        if (wellKnown && path.Count == 3)
        {
            options.Label = path[2];
        }
        else if (path.Count == 1 && path[0] != ".well-known")
        {
            options.Label = path[0];
        }
        else
        {
            options.Root = "/" + string.Join('/', path);
            options.UseDiscovery = true;
        }

        return (uri, options);
    }

    private static EstCertificateFormat ParseAccept(int? accept) => accept switch
    {
        null or 281 => EstCertificateFormat.CertsOnly,
        287 => EstCertificateFormat.PkixCert,
        _ => throw new CliException(ExitCodes.Usage, $"--accept {accept}: EST certificates come as 281 (PKCS#7 certs-only) or 287 (pkix-cert)."),
    };

    private static X500DistinguishedName ParseSubject(string text) =>
        DistinguishedNameParser.TryParse(text, out string? error)
        ?? throw new CliException(ExitCodes.Usage, $"--subject '{text}' is not a distinguished name in RFC 4514 form (e.g. CN=dev-1,O=Acme): {error}.");

    private static async Task<byte[]> ReadCsrAsync(string file, CancellationToken cancellationToken)
    {
        byte[] bytes;
        try
        {
            bytes = await File.ReadAllBytesAsync(file, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.Usage, $"Cannot read --csr '{file}': {ex.Message}", ex);
        }

        byte[] der = bytes;
        string text = Encoding.ASCII.GetString(bytes);
        if (PemEncoding.TryFind(text, out PemFields fields))
        {
            string label = text[fields.Label];
            if (label is not ("CERTIFICATE REQUEST" or "NEW CERTIFICATE REQUEST"))
            {
                throw new CliException(ExitCodes.Usage, $"--csr '{file}' holds a PEM '{label}', not a CERTIFICATE REQUEST.");
            }

            der = Convert.FromBase64String(text[fields.Base64Data]);
        }

        try
        {
            CertificateRequest.LoadSigningRequest(der, HashAlgorithmName.SHA256, out int read, CertificateRequestLoadOptions.UnsafeLoadCertificateExtensions);
            if (read != der.Length)
            {
                throw new CryptographicException("data follows the request");
            }
        }
        catch (CryptographicException ex)
        {
            throw new CliException(ExitCodes.Usage, $"--csr '{file}' is not a PKCS#10 certificate request (PEM or DER): {ex.Message.TrimEnd('.')}.", ex);
        }

        return der;
    }

    /// <summary>The passphrase named by --key-passphrase-env (for --key and --encrypt-key); null without the option.</summary>
    private string? ReadPassphrase(ParseResult parseResult)
    {
        if (parseResult.GetValue(_passphraseEnv) is not { } variable)
        {
            return null;
        }

        string? passphrase = Environment.GetEnvironmentVariable(variable);
        return string.IsNullOrEmpty(passphrase)
            ? throw new CliException(ExitCodes.Usage, $"--key-passphrase-env {variable}: the environment variable is not set or empty.")
            : passphrase;
    }

    private async Task<DtlsClientOptions> LoadDtlsOptionsAsync(ParseResult parseResult, CoapUri uri, CancellationToken cancellationToken)
    {
        string trust = parseResult.GetRequiredValue(_trust);
        string? cert = parseResult.GetValue(_cert);
        string? key = parseResult.GetValue(_key);
        if ((cert is null) != (key is null))
        {
            throw new CliException(ExitCodes.Usage, "--cert and --key go together: give both or neither.");
        }

        string? passphrase = ReadPassphrase(parseResult);

        var options = new DtlsClientOptions
        {
            ServerName = uri.HostAddress is null ? uri.Host : null,
            ExtendedMasterSecret = SecureTarget.ParseExtendedMasterSecret(parseResult.GetValue(_extendedMasterSecret)),
        };
        await SecureTarget.LoadCredentialsAsync(options, trust, cert, key, passphrase, _passphraseEnv.Name, cancellationToken);

        return options;
    }

    /// <summary>4.xx → <see cref="ExitCodes.ClientError"/>, 5.xx → <see cref="ExitCodes.ServerError"/>, with the server's diagnostic.</summary>
    private CliException Refused(EstRequestException ex, IPEndPoint remote, string? csrFile)
    {
        if (ex.Code == default)
        {
            return new CliException(ExitCodes.Failure, $"EST {_operation} with {remote}: {ex.Message}.", ex);
        }

        string answer = CoapCodeNames.Describe(ex.Code) + (ex.Diagnostic.Length > 0 ? $" ({ex.Diagnostic})" : string.Empty);
        if (ex.Code == CoapCode.ServiceUnavailable && ex.MaxAge is { } maxAge)
        {
            string repeat = csrFile is null ? string.Empty : $"; repeat with --csr {csrFile} to collect the certificate";
            return new CliException(ExitCodes.ServerError,
                $"EST {_operation}: the request is still pending at {remote} after --max-wait (server answered {answer}; Max-Age {maxAge} s){repeat}.", ex);
        }

        return new CliException(CoapRequestCommand.ExitCodeFor(ex.Code), $"EST {_operation} refused by {remote}: {answer}.", ex);
    }

    private static async Task WriteCertificatesAsync(string? outFile, IEnumerable<X509Certificate2> certificates, TextWriter stdout, CancellationToken cancellationToken)
    {
        var pem = new StringBuilder();
        int count = 0;
        foreach (X509Certificate2 certificate in certificates)
        {
            pem.Append(certificate.ExportCertificatePem()).Append('\n');
            count++;
        }

        if (outFile is null)
        {
            await stdout.WriteAsync(pem.ToString());
            return;
        }

        await WriteTextAsync(outFile, pem.ToString(), ownerOnly: false, cancellationToken);
        await stdout.WriteLineAsync($"Wrote {count} certificate{(count == 1 ? string.Empty : "s")} to {outFile}");
    }

    private static async Task PrintAttributesAsync(IReadOnlyList<EstCsrAttribute> attributes, string? outFile, TextWriter stdout, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        foreach (EstCsrAttribute attribute in attributes)
        {
            string name = new Oid(attribute.Oid).FriendlyName is { Length: > 0 } friendly ? $" ({friendly})" : string.Empty;
            text.Append(attribute.IsOid ? "oid " : "attribute ").Append(attribute.Oid).Append(name);
            foreach (byte[] value in attribute.Values ?? [])
            {
                text.Append(' ').Append(Convert.ToHexString(value));
            }

            text.Append('\n');
        }

        if (outFile is null)
        {
            await stdout.WriteAsync(text.ToString());
        }
        else
        {
            await WriteTextAsync(outFile, text.ToString(), ownerOnly: false, cancellationToken);
        }
    }

    private static Task WritePrivateKeyAsync(string path, byte[] pkcs8, CancellationToken cancellationToken) =>
        WriteTextAsync(path, PemEncoding.WriteString("PRIVATE KEY", pkcs8) + "\n", ownerOnly: true, cancellationToken);

    private static async Task WriteTextAsync(string path, string text, bool ownerOnly, CancellationToken cancellationToken)
    {
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
            if (ownerOnly && !OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            await using var stream = new FileStream(path, options);
            await stream.WriteAsync(Encoding.ASCII.GetBytes(text), cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.Usage, $"Cannot write '{path}': {ex.Message}", ex);
        }
    }
}
