using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Pkix;
using CoapEnroll.Testing;

namespace CoapEnroll.Ca.Tests;

/// <summary>
/// A CA in a temporary data directory with its store: a P-256 root and an issuing CA (pathLen 0) as the host's demo PKI makes them,
/// made here so that the CA is tested without the host. DIR/trust-anchor.pem and DIR/ca/issuing.pem are written for openssl. A
/// server certificate (CN=localhost, O=Test; DNS:localhost, IP:127.0.0.1, IP:::1) stands for the host's credential, whose names
/// the CA never issues.
/// </summary>
internal sealed class TestCa : IAsyncDisposable
{
    private TestCa(TempDirectory directory, CaOptions options, CaHierarchy hierarchy, SqliteCertificateStore store, CertificateAuthority authority)
    {
        Directory = directory;
        Options = options;
        Hierarchy = hierarchy;
        Store = store;
        Authority = authority;
    }

    public TempDirectory Directory { get; }

    public CaOptions Options { get; }

    public CaHierarchy Hierarchy { get; private set; }

    public SqliteCertificateStore Store { get; private set; }

    public CertificateAuthority Authority { get; private set; }

    /// <summary>The host's server certificate (no key): CN=localhost, O=Test with DNS:localhost, IP:127.0.0.1 and IP:::1.</summary>
    public X509Certificate2 ServerCertificate { get; private set; } = null!;

    public static async Task<TestCa> CreateAsync(Action<CaOptions>? configure = null)
    {
        var directory = new TempDirectory("coapenroll-ca-");
        var options = new CaOptions { DataDirectory = directory.Path };
        configure?.Invoke(options);
        CaHierarchy hierarchy = await CreateHierarchyAsync(new CaDataLayout(options.DataDirectory));
        X509Certificate2 server = CreateServerCertificate(hierarchy);
        SqliteCertificateStore store = await SqliteCertificateStore.OpenAsync(hierarchy.Layout.Database, null, CancellationToken.None);
        var authority = new CertificateAuthority(hierarchy, store, CertificateProfileCatalog.FromOptions(options), new ReservedNames(hierarchy, [server]));
        return new TestCa(directory, options, hierarchy, store, authority) { ServerCertificate = server };
    }

    /// <summary>Simulates a restart: closes the store, opens it again, and builds the CA again with the current <see cref="Options"/>.</summary>
    public async Task RestartAsync()
    {
        await Store.DisposeAsync();
        Store = await SqliteCertificateStore.OpenAsync(Hierarchy.Layout.Database, null, CancellationToken.None);
        Authority = new CertificateAuthority(Hierarchy, Store, CertificateProfileCatalog.FromOptions(Options), new ReservedNames(Hierarchy, [ServerCertificate]));
    }

    private static X509Certificate2 CreateServerCertificate(CaHierarchy hierarchy)
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        san.AddIpAddress(System.Net.IPAddress.IPv6Loopback);
        var request = new CertificateRequest(new X500DistinguishedName("CN=localhost, O=Test"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(san.Build());
        DateTimeOffset notBefore = new(hierarchy.IssuingCa.NotBefore.ToUniversalTime(), TimeSpan.Zero);
        return request.Create(hierarchy.IssuingCa, notBefore, notBefore.AddDays(30), RandomNumberGenerator.GetBytes(9));
    }

    private static async Task<CaHierarchy> CreateHierarchyAsync(CaDataLayout layout)
    {
        DateTimeOffset now = DateTimeOffset.UtcNow;
        using ECDsa rootKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        X509Certificate2 root = CertificateFactory.CreateSelfSignedCa(new X500DistinguishedName("CN=Test Root CA"), rootKey,
            now.AddMinutes(-5), now.AddYears(20), pathLength: null);
        using X509Certificate2 rootWithKey = root.CopyWithPrivateKey(rootKey);
        using ECDsa issuingKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        X509Certificate2 issuing = CertificateFactory.CreateSubordinateCa(new X500DistinguishedName("CN=Test Issuing CA"), new PublicKey(issuingKey), rootWithKey,
            now.AddMinutes(-5), now.AddYears(10), pathLength: 0);
        System.IO.Directory.CreateDirectory(layout.CaDirectory);
        await PemCredentialFiles.WriteCertificatesAsync(layout.TrustAnchor, [root], CancellationToken.None);
        await PemCredentialFiles.WriteCertificatesAsync(layout.IssuingCertificate, [issuing], CancellationToken.None);
        return new CaHierarchy(layout, root, issuing.CopyWithPrivateKey(issuingKey), [], []);
    }

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        Directory.Dispose();
    }

    public static byte[] Csr(string subject = "CN=dev-1", Action<CertificateRequest>? configure = null, AsymmetricAlgorithm? key = null) =>
        Csr(new X500DistinguishedName(subject), configure, key);

    public static byte[] Csr(X500DistinguishedName subject, Action<CertificateRequest>? configure = null, AsymmetricAlgorithm? key = null)
    {
        key ??= ECDsa.Create(ECCurve.NamedCurves.nistP256);
        CertificateRequest request = key switch
        {
            ECDsa ec => new CertificateRequest(subject, ec, ec.KeySize > 256 ? HashAlgorithmName.SHA384 : HashAlgorithmName.SHA256),
            RSA rsa => new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
            _ => throw new ArgumentException("unsupported key type", nameof(key)),
        };
        configure?.Invoke(request);
        return request.CreateSigningRequest();
    }

    public static IssuanceRequest Request(byte[] csr, string? profile = null, string? requestKey = null, string requester = "test") => new()
    {
        CsrDer = csr,
        Requester = requester,
        Protocol = "est-coaps",
        ProfileName = profile,
        RequestKey = requestKey,
    };
}
