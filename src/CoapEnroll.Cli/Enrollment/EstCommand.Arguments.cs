using System.CommandLine;
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

/// <summary>Reading and checking what the command line names, before anything goes on the wire.</summary>
internal sealed partial class EstCommand
{
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

    internal static X500DistinguishedName ParseSubject(string text) =>
        CoapEnroll.Ca.DistinguishedNameParser.TryParse(text, out string? error)
        ?? throw new CliException(ExitCodes.Usage, $"--subject '{text}' is not a distinguished name in RFC 4514 form (e.g. CN=dev-1,O=Acme): {error}.");

    internal static async Task<byte[]> ReadCsrAsync(string file, CancellationToken cancellationToken)
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

        if (bytes.Length == 0)
        {
            throw new CliException(ExitCodes.Usage, $"--csr '{file}' is empty: an empty request, not a PKCS#10 certificate request (PEM or DER).");
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
}
