using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using CoapEnroll.Pkix;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CoapEnroll.Hosting;

/// <summary>
/// Loads the CA hierarchy and the server's (D)TLS credential, creating on first start in an empty data directory a demo root CA,
/// an issuing CA, a server certificate for localhost/127.0.0.1/::1, a demo manufacturer CA and a demo device identity (see
/// <see cref="CaDataLayout"/>). Each certificate/key pair is created key first, certificate last, each file replaced atomically,
/// so an interrupted first start is completed by the next one. A host concern: the CA library only uses what this loads.
/// </summary>
public static class CaBootstrap
{
    /// <summary>The server certificate is re-issued when it expires within this period or no longer chains to the issuing CA.</summary>
    public static readonly TimeSpan ServerRenewalWindow = TimeSpan.FromDays(30);

    private static readonly TimeSpan s_backdate = TimeSpan.FromMinutes(5);

    /// <summary>notAfter of the demo IDevID and its manufacturer CA: 99991231235959Z, "no well-defined expiration" (RFC 5280 section 4.1.2.5, IEEE 802.1AR).</summary>
    private static readonly DateTimeOffset s_noExpiry = new(9999, 12, 31, 23, 59, 59, TimeSpan.Zero);

    /// <summary>Loads (or on first start creates) the hierarchy described by <paramref name="options"/>, and DIR/server.pem as the server credential.</summary>
    /// <exception cref="CaConfigurationException">A file is missing, unreadable, undecryptable, mismatched or does not chain.</exception>
    public static Task<CaBootstrapResult> LoadOrCreateAsync(CaOptions options, TimeProvider? timeProvider, ILogger? logger, CancellationToken cancellationToken) =>
        LoadOrCreateAsync(options, null, timeProvider, logger, cancellationToken);

    /// <summary>
    /// Loads (or on first start creates) the hierarchy described by <paramref name="options"/>, and the server credential from
    /// <paramref name="serverCredential"/>'s files or, when it names none, DIR/server.pem issued by the issuing CA.
    /// </summary>
    /// <exception cref="CaConfigurationException">A file is missing, unreadable, undecryptable, mismatched or does not chain.</exception>
    public static Task<CaBootstrapResult> LoadOrCreateAsync(CaOptions options, ServerCredentialOptions? serverCredential, TimeProvider? timeProvider,
        ILogger? logger, CancellationToken cancellationToken) =>
        LoadOrCreateAsync(options, serverCredential, null, createKey: false, timeProvider, logger, cancellationToken);

    /// <summary>
    /// As <see cref="LoadOrCreateAsync(CaOptions, ServerCredentialOptions?, TimeProvider?, ILogger?, CancellationToken)"/>, with the
    /// issuing CA's key from <paramref name="keyProvider"/> (a PKCS#11 token) instead of a PEM file when it is not null. Only
    /// <paramref name="createKey"/> (<c>coapenroll ca init</c>) generates that key and the demo issuing certificate for it; otherwise
    /// both must exist. The result's hierarchy owns the opened key.
    /// </summary>
    /// <exception cref="CaConfigurationException">A file or the token, PIN or key is missing, unreadable, mismatched or does not chain.</exception>
    public static async Task<CaBootstrapResult> LoadOrCreateAsync(CaOptions options, ServerCredentialOptions? serverCredential, ICaKeyProvider? keyProvider,
        bool createKey, TimeProvider? timeProvider, ILogger? logger, CancellationToken cancellationToken)
    {
        CaSigningKey? tokenKey = null;
        try
        {
            return await LoadOrCreateCoreAsync(options, serverCredential, keyProvider, createKey, key => tokenKey = key, timeProvider, logger, cancellationToken);
        }
        catch
        {
            tokenKey?.Dispose();
            throw;
        }
    }

    private static async Task<CaBootstrapResult> LoadOrCreateCoreAsync(CaOptions options, ServerCredentialOptions? serverCredential, ICaKeyProvider? keyProvider,
        bool createKey, Action<CaSigningKey> opened, TimeProvider? timeProvider, ILogger? logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        timeProvider ??= TimeProvider.System;
        logger ??= NullLogger.Instance;
        var layout = new CaDataLayout(options.DataDirectory);
        DateTimeOffset now = timeProvider.GetUtcNow();
        string? passphrase = ResolvePassphrase(options);

        CreateDirectory(layout.DataDirectory, ownerOnly: false);

        X509Certificate2 anchor;
        X509Certificate2 issuing;
        CaSigningKey? tokenKey = null;
        IReadOnlyList<X509Certificate2> intermediates;
        RootCaKeyUpdate? rootUpdate = null;
        if (options.CertificateFile is null)
        {
            if (options.KeyFile is not null || options.TrustAnchorFile is not null)
            {
                throw Setting("Ca:KeyFile and Ca:TrustAnchorFile need Ca:CertificateFile");
            }

            CreateDirectory(layout.CaDirectory, ownerOnly: true);
            anchor = await LoadOrCreateRootAsync(layout, passphrase, now, logger, cancellationToken);
            if (keyProvider is null)
            {
                issuing = await LoadOrCreateIssuingAsync(layout, anchor, passphrase, now, logger, cancellationToken);
            }
            else
            {
                (issuing, CaSigningKey key) = await LoadOrCreateIssuingOnTokenAsync(layout, anchor, passphrase, keyProvider, createKey, opened, now, logger, cancellationToken);
                tokenKey = key;
            }

            intermediates = [];
            rootUpdate = await LoadRootCaKeyUpdateAsync(layout, anchor, logger, cancellationToken);
        }
        else
        {
            IReadOnlyList<X509Certificate2> rest;
            if (keyProvider is not null)
            {
                if (options.KeyFile is not null)
                {
                    throw Setting($"Ca:KeyFile and Ca:KeyProvider={options.KeyProvider} exclude each other: the issuing key is on the token");
                }

                IReadOnlyList<X509Certificate2> certificates = await CaCredentialFiles.LoadCertificatesAsync(options.CertificateFile, cancellationToken);
                (issuing, rest) = (certificates[0], certificates.Skip(1).ToArray());
                tokenKey = await OpenTokenKeyAsync(keyProvider, createKey, opened, options.CertificateFile, issuing, cancellationToken);
            }
            else if (options.KeyFile is null)
            {
                throw Setting("Ca:CertificateFile needs Ca:KeyFile");
            }
            else
            {
                (issuing, rest) = await CaCredentialFiles.LoadCertificateWithKeyAsync(options.CertificateFile, options.KeyFile, passphrase, cancellationToken);
            }

            if (options.TrustAnchorFile is not null)
            {
                anchor = (await CaCredentialFiles.LoadCertificatesAsync(options.TrustAnchorFile, cancellationToken))[0];
                intermediates = rest.Where(c => !c.RawDataMemory.Span.SequenceEqual(anchor.RawDataMemory.Span)).ToArray();
            }
            else if (rest.Count > 0 && IsSelfIssued(rest[^1]))
            {
                anchor = rest[^1];
                intermediates = rest.Take(rest.Count - 1).ToArray();
            }
            else if (IsSelfIssued(issuing))
            {
                // A single self-signed CA both anchors and issues.
                anchor = X509CertificateLoader.LoadCertificate(issuing.RawData);
                intermediates = [];
            }
            else
            {
                throw new CaConfigurationException(options.CertificateFile, CaConfigurationProblem.ChainInvalid,
                    "does not end with a self-signed root; set Ca:TrustAnchorFile");
            }
        }

        string issuingPath = options.CertificateFile ?? layout.IssuingCertificate;
        CheckCaCertificate(issuingPath, issuing, now);
        CheckChain(issuingPath, issuing, intermediates, [anchor], now);

        X509Certificate2 server;
        IReadOnlyList<X509Certificate2> serverChain;
        if (serverCredential?.CertificateFile is { } serverFile)
        {
            if (serverCredential.KeyFile is not { } serverKeyFile)
            {
                throw Setting("Ca:ServerCertificateFile needs Ca:ServerKeyFile");
            }

            (server, serverChain) = await CaCredentialFiles.LoadCertificateWithKeyAsync(serverFile, serverKeyFile, passphrase, cancellationToken);
            CheckValidity(serverFile, server, now);
        }
        else
        {
            (server, serverChain) = await LoadOrCreateServerAsync(layout, issuing, tokenKey ?? new FileCaSigningKey(issuing), anchor, intermediates, now, logger, cancellationToken);
        }

        var manufacturers = new List<X509Certificate2>();
        if (options.CreateDemoIdentities)
        {
            CreateDirectory(layout.DemoDirectory, ownerOnly: true);
            X509Certificate2 manufacturer = await LoadOrCreateManufacturerAsync(layout, passphrase, now, logger, cancellationToken);
            await LoadOrCreateDemoDeviceAsync(layout, manufacturer, now, logger, cancellationToken);
            manufacturers.Add(X509CertificateLoader.LoadCertificate(manufacturer.RawData));
        }

        foreach (string file in options.TrustedManufacturerCaFiles ?? [])
        {
            try
            {
                foreach (X509Certificate2 ca in await CaCredentialFiles.LoadCertificatesAsync(file, cancellationToken))
                {
                    CheckCaCertificate(file, ca, now);
                    manufacturers.Add(ca);
                }
            }
            catch (CaConfigurationException ex) when (ex.FilePath == file)
            {
                // Which setting the file came from: the same problems have other remedies for the CA's own files.
                throw new CaConfigurationException(file, ex.Problem, $"not usable as a trusted manufacturer CA (Ca:TrustedManufacturerCaFiles): {ex.Detail}", ex);
            }
        }

        var registrars = new List<X509Certificate2>();
        foreach (string file in options.TrustedRegistrarCaFiles ?? [])
        {
            try
            {
                foreach (X509Certificate2 ca in await CaCredentialFiles.LoadCertificatesAsync(file, cancellationToken))
                {
                    CheckCaCertificate(file, ca, now);
                    registrars.Add(ca);
                }
            }
            catch (CaConfigurationException ex) when (ex.FilePath == file)
            {
                throw new CaConfigurationException(file, ex.Problem, $"not usable as a trusted registrar CA (Ca:TrustedRegistrarCaFiles): {ex.Detail}", ex);
            }
        }

        CaBootstrapLog.HierarchyLoaded(logger, issuing.Subject, issuing.Thumbprint, anchor.Subject, manufacturers.Count);

        // What the server sends after its certificate: never the leaf again, nor the anchor the peer already holds (RFC 5246 §7.4.2).
        X509Certificate2[] serverIntermediates = serverChain.Where(c => c.Thumbprint != server.Thumbprint && c.Thumbprint != anchor.Thumbprint).ToArray();
        return new CaBootstrapResult(new CaHierarchy(layout, anchor, issuing, intermediates, manufacturers, registrars, tokenKey) { RootCaKeyUpdate = rootUpdate }, new ServerCredential(server, serverIntermediates));
    }

    /// <summary>The passphrase from the environment variable named by <see cref="CaOptions.KeyPassphraseEnvironmentVariable"/>, or null when none is named.</summary>
    internal static string? ResolvePassphrase(CaOptions options)
    {
        string? name = options.KeyPassphraseEnvironmentVariable;
        if (string.IsNullOrEmpty(name))
        {
            return null;
        }

        if (name.Length > 256 || name.Contains('='))
        {
            throw Setting("Ca:KeyPassphraseEnvironmentVariable is not a valid environment variable name");
        }

        string? value = Environment.GetEnvironmentVariable(name);
        if (string.IsNullOrEmpty(value))
        {
            throw new CaConfigurationException(null, CaConfigurationProblem.PassphraseMissing,
                $"Ca:KeyPassphraseEnvironmentVariable names {name}, which is not set or empty");
        }

        return value;
    }

    private static async Task<X509Certificate2> LoadOrCreateRootAsync(CaDataLayout layout, string? passphrase, DateTimeOffset now, ILogger logger, CancellationToken cancellationToken)
    {
        if (File.Exists(layout.TrustAnchor))
        {
            // The root key is needed only to create the issuing CA, so it may be moved offline once that exists.
            return (await CaCredentialFiles.LoadCertificatesAsync(layout.TrustAnchor, cancellationToken))[0];
        }

        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        X509Certificate2 root = CertificateFactory.CreateSelfSignedCa(Name("CoapEnroll Demo Root CA", "CoapEnroll"), key, now - s_backdate, now.AddYears(20), pathLength: null);
        await CaCredentialFiles.WritePrivateKeyAsync(layout.RootKey, key, passphrase, cancellationToken);
        await CaCredentialFiles.WriteCertificatesAsync(layout.TrustAnchor, [root], cancellationToken);
        CaBootstrapLog.Created(logger, "root CA", layout.TrustAnchor);
        return root;
    }

    /// <summary>
    /// The root CA key update of <c>coapenroll ca rollover</c> (<see cref="CaRootRollover"/>), when DIR/ca/new-with-new.pem exists:
    /// its two link certificates must exist too and the three must fit <paramref name="anchor"/>.
    /// </summary>
    internal static async Task<RootCaKeyUpdate?> LoadRootCaKeyUpdateAsync(CaDataLayout layout, X509Certificate2 anchor, ILogger logger, CancellationToken cancellationToken)
    {
        if (!File.Exists(layout.NewWithNew))
        {
            return null;
        }

        foreach (string file in (ReadOnlySpan<string>)[layout.NewWithOld, layout.OldWithNew])
        {
            if (!File.Exists(file))
            {
                throw new CaConfigurationException(file, CaConfigurationProblem.IncompleteDataDirectory, $"missing, but {layout.NewWithNew} exists; restore it or remove the root CA key update");
            }
        }

        X509Certificate2 newWithNew = (await CaCredentialFiles.LoadCertificatesAsync(layout.NewWithNew, cancellationToken))[0];
        X509Certificate2 newWithOld = (await CaCredentialFiles.LoadCertificatesAsync(layout.NewWithOld, cancellationToken))[0];
        X509Certificate2 oldWithNew = (await CaCredentialFiles.LoadCertificatesAsync(layout.OldWithNew, cancellationToken))[0];
        RootCaKeyUpdate update = RootCaKeyUpdate.TryLoad(anchor, newWithNew, newWithOld, oldWithNew, out string? problem)
            ?? throw new CaConfigurationException(layout.NewWithNew, CaConfigurationProblem.ChainInvalid, $"the root CA key update does not fit {layout.TrustAnchor}: {problem}");
        CaBootstrapLog.RootCaKeyUpdateLoaded(logger, newWithNew.Subject, newWithNew.Thumbprint, layout.CaDirectory, anchor.NotAfter.ToUniversalTime());
        return update;
    }

    private static async Task<X509Certificate2> LoadOrCreateIssuingAsync(CaDataLayout layout, X509Certificate2 root, string? passphrase, DateTimeOffset now, ILogger logger, CancellationToken cancellationToken)
    {
        if (File.Exists(layout.IssuingCertificate))
        {
            RequireKey(layout.IssuingCertificate, layout.IssuingKey, ca: true, mayBeOnToken: true);
            return (await CaCredentialFiles.LoadCertificateWithKeyAsync(layout.IssuingCertificate, layout.IssuingKey, passphrase, cancellationToken)).Certificate;
        }

        RequireKey(layout.TrustAnchor, layout.RootKey, ca: true);
        AsymmetricAlgorithm rootKey = await CaCredentialFiles.LoadPrivateKeyAsync(layout.RootKey, passphrase, cancellationToken);
        using X509Certificate2 rootWithKey = CaCredentialFiles.AttachKey(root, rootKey, layout.TrustAnchor, layout.RootKey);
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var publicKey = new PublicKey(key);
        X509Certificate2 issuing = CertificateFactory.CreateSubordinateCa(Name("CoapEnroll Demo Issuing CA", "CoapEnroll"), publicKey, rootWithKey, now - s_backdate, now.AddYears(10), pathLength: 0);
        await CaCredentialFiles.WritePrivateKeyAsync(layout.IssuingKey, key, passphrase, cancellationToken);
        await CaCredentialFiles.WriteCertificatesAsync(layout.IssuingCertificate, [issuing], cancellationToken);
        CaBootstrapLog.Created(logger, "issuing CA", layout.IssuingCertificate);
        return issuing.CopyWithPrivateKey(key);
    }

    /// <summary>
    /// The demo issuing CA whose key is on a token: DIR/ca/issuing.pem for the token's key. With <paramref name="createKey"/> the key
    /// is generated when the token lacks it and the certificate is issued by the demo root when the file is missing; without, both
    /// must exist. A DIR/ca/issuing.key beside it is refused: the issuing key is the token's only.
    /// </summary>
    private static async Task<(X509Certificate2, CaSigningKey)> LoadOrCreateIssuingOnTokenAsync(CaDataLayout layout, X509Certificate2 root, string? passphrase,
        ICaKeyProvider keyProvider, bool createKey, Action<CaSigningKey> opened, DateTimeOffset now, ILogger logger, CancellationToken cancellationToken)
    {
        if (File.Exists(layout.IssuingKey))
        {
            throw new CaConfigurationException(layout.IssuingKey, CaConfigurationProblem.InvalidSetting,
                $"exists, but Ca:KeyProvider names {keyProvider.Description}: the issuing key is kept on the token only; move the file away (or set Ca:KeyProvider=File)");
        }

        if (File.Exists(layout.IssuingCertificate))
        {
            X509Certificate2 existing = (await CaCredentialFiles.LoadCertificatesAsync(layout.IssuingCertificate, cancellationToken))[0];
            return (existing, await OpenTokenKeyAsync(keyProvider, createKey, opened, layout.IssuingCertificate, existing, cancellationToken));
        }

        if (!createKey)
        {
            throw new CaConfigurationException(layout.IssuingCertificate, CaConfigurationProblem.IncompleteDataDirectory,
                $"missing: create the issuing CA on {keyProvider.Description} with `coapenroll ca init --data {layout.DataDirectory}` and the same Ca:KeyProvider and Ca:Pkcs11 settings");
        }

        RequireKey(layout.TrustAnchor, layout.RootKey, ca: true);
        CaSigningKey key = await keyProvider.OpenAsync(createIfMissing: true, cancellationToken);
        opened(key);
        AsymmetricAlgorithm rootKey = await CaCredentialFiles.LoadPrivateKeyAsync(layout.RootKey, passphrase, cancellationToken);
        using X509Certificate2 rootWithKey = CaCredentialFiles.AttachKey(root, rootKey, layout.TrustAnchor, layout.RootKey);
        X509Certificate2 issuing = CertificateFactory.CreateSubordinateCa(Name("CoapEnroll Demo Issuing CA", "CoapEnroll"), key.PublicKey, rootWithKey, now - s_backdate, now.AddYears(10), pathLength: 0,
            digitalSignature: true); // the key on the token also signs CMP answers (Cmp:ProtectionKey)
        await CaCredentialFiles.WriteCertificatesAsync(layout.IssuingCertificate, [issuing], cancellationToken);
        CaBootstrapLog.Created(logger, "issuing CA (key on " + keyProvider.Description + ")", layout.IssuingCertificate);
        return (issuing, key);
    }

    /// <summary>Opens the token's key and checks that it is the key of <paramref name="certificate"/>.</summary>
    private static async Task<CaSigningKey> OpenTokenKeyAsync(ICaKeyProvider keyProvider, bool createKey, Action<CaSigningKey> opened, string certificatePath,
        X509Certificate2 certificate, CancellationToken cancellationToken)
    {
        CaSigningKey key = await keyProvider.OpenAsync(createKey, cancellationToken);
        opened(key);
        return key.Matches(certificate)
            ? key
            : throw new CaConfigurationException(certificatePath, CaConfigurationProblem.KeyMismatch,
                $"'{certificate.Subject}' is not the certificate of {key.Description}");
    }

    private static async Task<(X509Certificate2, IReadOnlyList<X509Certificate2>)> LoadOrCreateServerAsync(CaDataLayout layout, X509Certificate2 issuing,
        CaSigningKey issuingKey, X509Certificate2 anchor, IReadOnlyList<X509Certificate2> intermediates, DateTimeOffset now, ILogger logger, CancellationToken cancellationToken)
    {
        if (File.Exists(layout.ServerCertificate))
        {
            RequireKey(layout.ServerCertificate, layout.ServerKey);
            var (loaded, chain) = await CaCredentialFiles.LoadCertificateWithKeyAsync(layout.ServerCertificate, layout.ServerKey, null, cancellationToken);
            // A server certificate made before it signed centrally generated CMP keys lacks id-kp-cmKGA, which a client needs
            // to accept it as their generator (RFC 9810 §4.5): it is re-issued like one that expires.
            bool current = loaded.NotAfter.ToUniversalTime() > (now + ServerRenewalWindow).UtcDateTime
                && ChainsTo(loaded, [issuing, .. intermediates], anchor, now)
                && CertificateUsage.HasExtendedKeyUsage(loaded, PkixOids.CmpKeyGenerationAuthority);
            if (current)
            {
                return (loaded, chain);
            }

            CaBootstrapLog.Renewing(logger, layout.ServerCertificate);
        }

        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        san.AddIpAddress(System.Net.IPAddress.IPv6Loopback);
        X509Extension[] extensions =
        [
            new X509BasicConstraintsExtension(false, false, 0, critical: true),
            new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true),
            // serverAuth for DTLS and HTTPS; cmKGA because this certificate signs the keys that CMP generates centrally.
            new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1", "serverAuth"), new Oid(PkixOids.CmpKeyGenerationAuthority, "cmKGA")], critical: false),
            san.Build(critical: false),
        ];
        X509Certificate2 server;
        using (CaSigningLease lease = await issuingKey.AcquireAsync(cancellationToken))
        {
            server = CertificateFactory.Sign(Name("localhost", "CoapEnroll"), new PublicKey(key), issuing, lease.Key, lease.RsaPadding, now - s_backdate, now.AddDays(397),
                CertificateFactory.NewSerialNumber(), extensions);
        }

        X509Certificate2[] serverChain = [X509CertificateLoader.LoadCertificate(issuing.RawData), .. intermediates];
        await CaCredentialFiles.WritePrivateKeyAsync(layout.ServerKey, key, null, cancellationToken);
        await CaCredentialFiles.WriteCertificatesAsync(layout.ServerCertificate, [server, .. serverChain], cancellationToken);
        CaBootstrapLog.Created(logger, "server certificate", layout.ServerCertificate);
        return (server.CopyWithPrivateKey(key), serverChain);
    }

    private static async Task<X509Certificate2> LoadOrCreateManufacturerAsync(CaDataLayout layout, string? passphrase, DateTimeOffset now, ILogger logger, CancellationToken cancellationToken)
    {
        if (File.Exists(layout.ManufacturerCaCertificate))
        {
            RequireKey(layout.ManufacturerCaCertificate, layout.ManufacturerCaKey, ca: true);
            return (await CaCredentialFiles.LoadCertificateWithKeyAsync(layout.ManufacturerCaCertificate, layout.ManufacturerCaKey, passphrase, cancellationToken)).Certificate;
        }

        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        X509Certificate2 ca = CertificateFactory.CreateSelfSignedCa(Name("CoapEnroll Demo Manufacturer CA", "CoapEnroll Demo Manufacturer"), key, now - s_backdate, s_noExpiry, pathLength: 0);
        await CaCredentialFiles.WritePrivateKeyAsync(layout.ManufacturerCaKey, key, passphrase, cancellationToken);
        await CaCredentialFiles.WriteCertificatesAsync(layout.ManufacturerCaCertificate, [ca], cancellationToken);
        CaBootstrapLog.Created(logger, "demo manufacturer CA", layout.ManufacturerCaCertificate);
        return ca.CopyWithPrivateKey(key);
    }

    private static async Task LoadOrCreateDemoDeviceAsync(CaDataLayout layout, X509Certificate2 manufacturer, DateTimeOffset now, ILogger logger, CancellationToken cancellationToken)
    {
        if (File.Exists(layout.DemoDeviceCertificate))
        {
            RequireKey(layout.DemoDeviceCertificate, layout.DemoDeviceKey);
            using X509Certificate2 _ = (await CaCredentialFiles.LoadCertificateWithKeyAsync(layout.DemoDeviceCertificate, layout.DemoDeviceKey, null, cancellationToken)).Certificate;
            return;
        }

        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        // An IDevID-like subject: the device serial number in the serialNumber attribute (RFC 5280 Appendix A, IEEE 802.1AR section 8.6).
        var subject = new X500DistinguishedNameBuilder();
        subject.AddOrganizationName("CoapEnroll Demo Manufacturer");
        subject.AddCommonName("demo-device-1");
        subject.Add("2.5.4.5", "DEMO-0001", System.Formats.Asn1.UniversalTagNumber.PrintableString);
        X509Extension[] extensions =
        [
            new X509BasicConstraintsExtension(false, false, 0, critical: true),
            new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true),
            new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2", "clientAuth")], critical: false),
        ];
        X509Certificate2 device = CertificateFactory.Sign(subject.Build(), new PublicKey(key), manufacturer, now - s_backdate, s_noExpiry,
            CertificateFactory.NewSerialNumber(), extensions);
        await CaCredentialFiles.WritePrivateKeyAsync(layout.DemoDeviceKey, key, null, cancellationToken);
        await CaCredentialFiles.WriteCertificatesAsync(layout.DemoDeviceCertificate, [device], cancellationToken);
        CaBootstrapLog.Created(logger, "demo device identity", layout.DemoDeviceCertificate);
    }

    private static X500DistinguishedName Name(string commonName, string organization)
    {
        var builder = new X500DistinguishedNameBuilder();
        builder.AddOrganizationName(organization);
        builder.AddCommonName(commonName);
        return builder.Build();
    }

    /// <summary>
    /// Refuses a certificate of the data directory without its key file. For a CA (<paramref name="ca"/>) the advice is to restore
    /// the key, never to remove both: that would make a new CA that no device trusts; the issuing CA's key may also be on a token
    /// whose settings are missing (<paramref name="mayBeOnToken"/>).
    /// </summary>
    private static void RequireKey(string certificatePath, string keyPath, bool ca = false, bool mayBeOnToken = false)
    {
        if (!File.Exists(keyPath))
        {
            string advice = mayBeOnToken
                ? "if that CA's key is on a PKCS#11 token, give the same Ca:KeyProvider and Ca:Pkcs11 settings as 'serve' has; otherwise restore the key (removing both would make a new CA that no device trusts)"
                : ca ? "restore the key (removing both would make a new CA that no device trusts)" : "restore the key or remove both to create new ones";
            throw new CaConfigurationException(keyPath, CaConfigurationProblem.IncompleteDataDirectory, $"missing, but {certificatePath} exists; {advice}");
        }
    }

    private static void CreateDirectory(string path, bool ownerOnly)
    {
        try
        {
            if (ownerOnly && !OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
            else
            {
                Directory.CreateDirectory(path);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CaConfigurationException(path, CaConfigurationProblem.FileUnreadable, $"cannot create directory ({ex.Message})", ex);
        }
    }

    private static bool IsSelfIssued(X509Certificate2 certificate) =>
        certificate.SubjectName.RawData.AsSpan().SequenceEqual(certificate.IssuerName.RawData);

    /// <summary>A CA certificate must assert CA:true in BasicConstraints and, when KeyUsage is present, keyCertSign (RFC 5280 sections 4.2.1.3, 4.2.1.9).</summary>
    private static void CheckCaCertificate(string path, X509Certificate2 certificate, DateTimeOffset now)
    {
        X509BasicConstraintsExtension? constraints = certificate.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault();
        if (constraints is null || !constraints.CertificateAuthority)
        {
            throw new CaConfigurationException(path, CaConfigurationProblem.NotACaCertificate, $"'{certificate.Subject}' is not a CA certificate (no BasicConstraints CA:true)");
        }

        X509KeyUsageExtension? usage = certificate.Extensions.OfType<X509KeyUsageExtension>().FirstOrDefault();
        if (usage is not null && (usage.KeyUsages & X509KeyUsageFlags.KeyCertSign) == 0)
        {
            throw new CaConfigurationException(path, CaConfigurationProblem.NotACaCertificate, $"'{certificate.Subject}' is not a CA certificate allowed to sign certificates (KeyUsage lacks keyCertSign)");
        }

        CheckValidity(path, certificate, now);
    }

    private static void CheckValidity(string path, X509Certificate2 certificate, DateTimeOffset now)
    {
        if (now.UtcDateTime < certificate.NotBefore.ToUniversalTime() || now.UtcDateTime > certificate.NotAfter.ToUniversalTime())
        {
            throw new CaConfigurationException(path, CaConfigurationProblem.Expired,
                $"'{certificate.Subject}' is valid only from {certificate.NotBefore.ToUniversalTime():u} to {certificate.NotAfter.ToUniversalTime():u}");
        }
    }

    private static void CheckChain(string path, X509Certificate2 certificate, IReadOnlyList<X509Certificate2> intermediates, IReadOnlyList<X509Certificate2> anchors, DateTimeOffset now)
    {
        using X509Chain chain = NewChain(intermediates, anchors, now);
        if (!chain.Build(certificate))
        {
            string status = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct());
            throw new CaConfigurationException(path, CaConfigurationProblem.ChainInvalid, $"'{certificate.Subject}' does not chain to the trust anchor: {status}");
        }
    }

    private static bool ChainsTo(X509Certificate2 certificate, IReadOnlyList<X509Certificate2> intermediates, X509Certificate2 anchor, DateTimeOffset now)
    {
        using X509Chain chain = NewChain(intermediates, [anchor], now);
        return chain.Build(certificate) && chain.ChainElements.Count > 1 && chain.ChainElements[1].Certificate.RawDataMemory.Span.SequenceEqual(intermediates[0].RawDataMemory.Span);
    }

    /// <summary>A chain engine that trusts only <paramref name="anchors"/>, with no revocation checking and no network fetches (RFC 5280 section 6).</summary>
    private static X509Chain NewChain(IReadOnlyList<X509Certificate2> intermediates, IReadOnlyList<X509Certificate2> anchors, DateTimeOffset now) =>
        new CertificateChainBuilder(anchors) { DisableCertificateDownloads = true }.CreateChain(intermediates, now);

    private static CaConfigurationException Setting(string message) => new(null, CaConfigurationProblem.InvalidSetting, message);
}
