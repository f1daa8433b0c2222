using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Cli.Client;
using CoapEnroll.Coap;
using CoapEnroll.Dtls;
using CoapEnroll.Est;

namespace CoapEnroll.Cli.Enrollment;

/// <summary>
/// <c>coapenroll est crts|enroll|reenroll|csrattrs|serverkeygen --server coaps://HOST[:PORT][/LABEL] --trust ANCHOR.pem …</c>:
/// an EST-coaps client (RFC 9148) for devices and operators. Every problem is one line on stderr and an exit code from
/// <see cref="ExitCodes"/> (a 4.xx answer → 4, 5.xx → 5, no answer or a failed handshake → 3, bad input → 2).
/// This file holds the options and the flow; the inputs are read and checked in EstCommand.Arguments.cs, the operations that
/// make keys in EstCommand.Operations.cs, and what is written out in EstCommand.Output.cs.
/// </summary>
internal sealed partial class EstCommand
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
    private readonly Option<string?> _cert = new("--cert") { Description = "Client certificate (PEM, leaf first): the device's manufacturer certificate (IDevID) or one this CA issued; crts needs none (RFC 7030 §4.1.1)", HelpName = "FILE" };
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
        SecureTarget.BoundRetransmissions(clientOptions.Coap.Endpoint, timeout);
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
        catch (CoapProtocolException ex) when (ex.Error == CoapError.Timeout)
        {
            throw new CliException(ExitCodes.NoResponse, $"EST {_operation}: no response from {remote}: {ex.Message.TrimEnd('.')}. {SecureTarget.NoAnswerAfterHandshakeHint}", ex);
        }
        catch (CoapProtocolException ex)
        {
            throw new CliException(ExitCodes.NoResponse, $"EST request to {remote} failed: {ex.Message}", ex);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new CliException(ExitCodes.NoResponse,
                $"EST {_operation}: no response from {remote} within {timeoutSeconds.ToString(CultureInfo.InvariantCulture)} s. {SecureTarget.NoAnswerAfterHandshakeHint}");
        }
        catch (InvalidDataException ex)
        {
            throw new CliException(ExitCodes.Failure, $"The server's answer is unusable: {ex.Message}", ex);
        }
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
}
