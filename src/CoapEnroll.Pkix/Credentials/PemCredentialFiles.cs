using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Pkix;

/// <summary>
/// Reads and writes PEM certificates (RFC 7468 section 5) and PKCS#8 private keys (RFC 5958, RFC 7468 sections 10-11),
/// turning every failure into a <see cref="CredentialFileException"/> whose one-line message names the file and the problem.
/// </summary>
public static class PemCredentialFiles
{
    /// <summary>Largest PEM file read, far above any certificate chain or key this CA deals with.</summary>
    public const int MaxFileBytes = 1024 * 1024;

    /// <summary>Most certificates read from one PEM file.</summary>
    public const int MaxCertificatesPerFile = 32;

    /// <summary>PBES2 parameters for the keys written encrypted: AES-256-CBC, PBKDF2-HMAC-SHA256 (RFC 8018).</summary>
    internal static readonly PbeParameters KeyEncryption = new(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 600_000);

    /// <summary>Reads every CERTIFICATE block of a PEM file, in file order.</summary>
    /// <exception cref="CredentialFileException">The file is missing, unreadable, too large, or holds no decodable certificate.</exception>
    public static async Task<IReadOnlyList<X509Certificate2>> LoadCertificatesAsync(string path, CancellationToken cancellationToken)
    {
        string text = await ReadTextAsync(path, cancellationToken);
        var certificates = new List<X509Certificate2>();
        ReadOnlySpan<char> rest = text;
        while (PemEncoding.TryFind(rest, out PemFields fields))
        {
            if (rest[fields.Label].SequenceEqual("CERTIFICATE"))
            {
                if (certificates.Count == MaxCertificatesPerFile)
                {
                    throw new CredentialFileException(path, CredentialFileProblem.InvalidPem, $"more than {MaxCertificatesPerFile} certificates");
                }

                byte[] der = Convert.FromBase64String(rest[fields.Base64Data].ToString());
                try
                {
                    certificates.Add(X509CertificateLoader.LoadCertificate(der));
                }
                catch (CryptographicException ex)
                {
                    throw new CredentialFileException(path, CredentialFileProblem.InvalidPem, $"certificate {certificates.Count + 1} cannot be decoded ({ex.Message})", ex);
                }
            }

            rest = rest[fields.Location.End..];
        }

        if (certificates.Count == 0)
        {
            throw new CredentialFileException(path, CredentialFileProblem.InvalidPem, "no '-----BEGIN CERTIFICATE-----' block");
        }

        return certificates;
    }

    /// <summary>Reads a private key: PKCS#8 "PRIVATE KEY", encrypted PKCS#8 "ENCRYPTED PRIVATE KEY", or the traditional "EC PRIVATE KEY"/"RSA PRIVATE KEY".</summary>
    /// <param name="path">The PEM file.</param>
    /// <param name="passphrase">Passphrase for an encrypted key; <see langword="null"/> when none is configured.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>An <see cref="ECDsa"/> or <see cref="RSA"/> instance.</returns>
    /// <exception cref="CredentialFileException">The file is missing or unreadable, holds no decodable key, or the passphrase is missing or wrong.</exception>
    public static async Task<AsymmetricAlgorithm> LoadPrivateKeyAsync(string path, string? passphrase, CancellationToken cancellationToken)
    {
        string text = await ReadTextAsync(path, cancellationToken);
        ReadOnlySpan<char> rest = text;
        while (PemEncoding.TryFind(rest, out PemFields fields))
        {
            string label = rest[fields.Label].ToString();
            byte[] der = Convert.FromBase64String(rest[fields.Base64Data].ToString());
            switch (label)
            {
                case "PRIVATE KEY":
                    return ImportPkcs8(path, der);
                case "ENCRYPTED PRIVATE KEY":
                    return ImportEncryptedPkcs8(path, der, passphrase);
                case "EC PRIVATE KEY":
                    return Import(path, der, static (ECDsa key, byte[] d) => key.ImportECPrivateKey(d, out _));
                case "RSA PRIVATE KEY":
                    return Import(path, der, static (RSA key, byte[] d) => key.ImportRSAPrivateKey(d, out _));
                default:
                    rest = rest[fields.Location.End..];
                    break;
            }
        }

        throw new CredentialFileException(path, CredentialFileProblem.InvalidPem, "no '-----BEGIN PRIVATE KEY-----' or '-----BEGIN ENCRYPTED PRIVATE KEY-----' block");
    }

    /// <summary>Reads a certificate file (first certificate = the subject, the rest = its chain) and its key, and checks that they belong together.</summary>
    /// <returns>The first certificate with the private key attached, and the remaining certificates.</returns>
    /// <exception cref="CredentialFileException">A file cannot be read, or the key does not belong to the certificate.</exception>
    public static async Task<(X509Certificate2 Certificate, IReadOnlyList<X509Certificate2> Chain)> LoadCertificateWithKeyAsync(
        string certificatePath, string keyPath, string? passphrase, CancellationToken cancellationToken)
    {
        IReadOnlyList<X509Certificate2> certificates = await LoadCertificatesAsync(certificatePath, cancellationToken);
        AsymmetricAlgorithm key = await LoadPrivateKeyAsync(keyPath, passphrase, cancellationToken);
        X509Certificate2 withKey = AttachKey(certificates[0], key, certificatePath, keyPath);
        return (withKey, certificates.Skip(1).ToArray());
    }

    /// <summary>
    /// <paramref name="certificate"/> (read from <paramref name="certificatePath"/>) with <paramref name="key"/> (read from
    /// <paramref name="keyPath"/>) attached, for signing: an EC certificate whose key usage allows only keyAgreement does not fit.
    /// </summary>
    /// <exception cref="CredentialFileException">The key does not belong to the certificate (<see cref="CredentialFileProblem.KeyMismatch"/>).</exception>
    public static X509Certificate2 AttachKey(X509Certificate2 certificate, AsymmetricAlgorithm key, string certificatePath, string keyPath)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(key);
        try
        {
            return key switch
            {
                ECDsa when certificate.PublicKey.Oid.Value == PkixOids.EcPublicKey => CertificateKeys.AttachPrivateKey(certificate, key, keyAgreementCertificates: false),
                RSA when certificate.PublicKey.Oid.Value == PkixOids.RsaEncryption => CertificateKeys.AttachPrivateKey(certificate, key, keyAgreementCertificates: false),
                _ => throw new CredentialFileException(keyPath, CredentialFileProblem.KeyMismatch,
                    $"the {AlgorithmName(key)} key does not match the {certificate.PublicKey.Oid.FriendlyName ?? certificate.PublicKey.Oid.Value} certificate in {certificatePath}"),
            };
        }
        catch (ArgumentException ex)
        {
            throw new CredentialFileException(keyPath, CredentialFileProblem.KeyMismatch, $"the private key does not match the public key of the certificate in {certificatePath}", ex);
        }
        catch (CryptographicException ex)
        {
            throw new CredentialFileException(keyPath, CredentialFileProblem.KeyMismatch, $"the private key does not match the public key of the certificate in {certificatePath}", ex);
        }
    }

    /// <summary>
    /// Writes a private key as PKCS#8 PEM, encrypted with AES-256-CBC and PBKDF2-HMAC-SHA256 (600,000 iterations) when a passphrase
    /// is given, readable by the owner only (mode 0600 on Unix), replacing the file atomically.
    /// </summary>
    public static Task WritePrivateKeyAsync(string path, AsymmetricAlgorithm key, string? passphrase, CancellationToken cancellationToken)
    {
        string pem = passphrase is null
            ? key.ExportPkcs8PrivateKeyPem()
            : key.ExportEncryptedPkcs8PrivateKeyPem(passphrase, KeyEncryption);
        return WriteAtomicallyAsync(path, pem + "\n", ownerOnly: true, cancellationToken);
    }

    /// <summary>Writes certificates as consecutive CERTIFICATE blocks, replacing the file atomically.</summary>
    public static Task WriteCertificatesAsync(string path, IEnumerable<X509Certificate2> certificates, CancellationToken cancellationToken)
    {
        string pem = string.Concat(certificates.Select(c => c.ExportCertificatePem() + "\n"));
        return WriteAtomicallyAsync(path, pem, ownerOnly: false, cancellationToken);
    }

    private static async Task WriteAtomicallyAsync(string path, string content, bool ownerOnly, CancellationToken cancellationToken)
    {
        string temp = $"{path}.{Guid.NewGuid():N}.tmp";
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            Share = FileShare.None,
            Options = FileOptions.Asynchronous,
        };
        if (!OperatingSystem.IsWindows())
        {
            // Created with the final mode, so the key is never readable by others, not even briefly.
            options.UnixCreateMode = ownerOnly
                ? UnixFileMode.UserRead | UnixFileMode.UserWrite
                : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        }

        try
        {
            await using (var stream = new FileStream(temp, options))
            {
                byte[] bytes = System.Text.Encoding.ASCII.GetBytes(content);
                await stream.WriteAsync(bytes, cancellationToken);
                await stream.FlushAsync(cancellationToken);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    private static async Task<string> ReadTextAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                throw new CredentialFileException(path, CredentialFileProblem.FileMissing, "file does not exist");
            }

            if (info.Length > MaxFileBytes)
            {
                throw new CredentialFileException(path, CredentialFileProblem.FileUnreadable, $"file is larger than {MaxFileBytes} bytes");
            }

            return await File.ReadAllTextAsync(path, cancellationToken);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new CredentialFileException(path, CredentialFileProblem.FileUnreadable, $"cannot read file ({ex.Message})", ex);
        }
        catch (IOException ex)
        {
            throw new CredentialFileException(path, CredentialFileProblem.FileUnreadable, $"cannot read file ({ex.Message})", ex);
        }
    }

    private static AsymmetricAlgorithm ImportPkcs8(string path, byte[] der)
    {
        string? algorithm;
        try
        {
            // PrivateKeyInfo ::= SEQUENCE { version, privateKeyAlgorithm AlgorithmIdentifier, privateKey, ... } (RFC 5958 section 2).
            var reader = new AsnReader(der, AsnEncodingRules.BER);
            AsnReader info = reader.ReadSequence();
            info.ReadInteger();
            algorithm = info.ReadSequence().ReadObjectIdentifier();
        }
        catch (AsnContentException ex)
        {
            throw new CredentialFileException(path, CredentialFileProblem.InvalidPem, "the PKCS#8 key cannot be decoded", ex);
        }

        return algorithm switch
        {
            PkixOids.EcPublicKey => Import(path, der, static (ECDsa key, byte[] d) => key.ImportPkcs8PrivateKey(d, out _)),
            PkixOids.RsaEncryption => Import(path, der, static (RSA key, byte[] d) => key.ImportPkcs8PrivateKey(d, out _)),
            _ => throw new CredentialFileException(path, CredentialFileProblem.InvalidPem, $"unsupported key algorithm {algorithm} (EC and RSA are supported)"),
        };
    }

    private static AsymmetricAlgorithm ImportEncryptedPkcs8(string path, byte[] der, string? passphrase)
    {
        if (passphrase is null)
        {
            throw new CredentialFileException(path, CredentialFileProblem.PassphraseMissing,
                "the key is encrypted but no passphrase is available");
        }

        // The algorithm is inside the encrypted part, so try EC, then RSA; both failing means the passphrase is wrong
        // (or the key is corrupt, which PBES2 cannot tell apart, RFC 8018 section 6.2).
        var ec = ECDsa.Create();
        try
        {
            ec.ImportEncryptedPkcs8PrivateKey(passphrase, der, out _);
            return ec;
        }
        catch (CryptographicException)
        {
            ec.Dispose();
        }

        var rsa = RSA.Create();
        try
        {
            rsa.ImportEncryptedPkcs8PrivateKey(passphrase, der, out _);
            return rsa;
        }
        catch (CryptographicException ex)
        {
            rsa.Dispose();
            throw new CredentialFileException(path, CredentialFileProblem.WrongPassphrase, "cannot decrypt the encrypted PKCS#8 key: wrong passphrase or corrupt file", ex);
        }
    }

    private static T Import<T>(string path, byte[] der, Action<T, byte[]> import)
        where T : AsymmetricAlgorithm
    {
        T key = typeof(T) == typeof(ECDsa) ? (T)(AsymmetricAlgorithm)ECDsa.Create() : (T)(AsymmetricAlgorithm)RSA.Create();
        try
        {
            import(key, der);
            return key;
        }
        catch (CryptographicException ex)
        {
            key.Dispose();
            throw new CredentialFileException(path, CredentialFileProblem.InvalidPem, $"the private key cannot be decoded ({ex.Message})", ex);
        }
    }

    private static string AlgorithmName(AsymmetricAlgorithm key) => key switch
    {
        ECDsa ec => $"EC P-{ec.KeySize}",
        RSA rsa => $"RSA {rsa.KeySize}",
        _ => key.GetType().Name,
    };
}
