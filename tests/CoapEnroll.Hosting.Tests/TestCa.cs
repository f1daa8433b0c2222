using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Testing;

namespace CoapEnroll.Hosting.Tests;

/// <summary>A bootstrapped CA (<see cref="CaBootstrap"/>) in a temporary data directory with its store.</summary>
internal sealed class TestCa : IAsyncDisposable
{
    private TestCa(TempDirectory directory, CaOptions options, CaBootstrapResult bootstrap, SqliteCertificateStore store, CertificateAuthority authority)
    {
        Directory = directory;
        Options = options;
        Hierarchy = bootstrap.Hierarchy;
        ServerCredential = bootstrap.ServerCredential;
        Store = store;
        Authority = authority;
    }

    public TempDirectory Directory { get; }

    public CaOptions Options { get; }

    public CaHierarchy Hierarchy { get; private set; }

    public ServerCredential ServerCredential { get; private set; }

    public SqliteCertificateStore Store { get; private set; }

    public CertificateAuthority Authority { get; private set; }

    public static async Task<TestCa> CreateAsync(Action<CaOptions>? configure = null)
    {
        var directory = new TempDirectory("coapenroll-hosting-");
        var options = new CaOptions { DataDirectory = directory.Path };
        configure?.Invoke(options);
        CaBootstrapResult bootstrap = await CaBootstrap.LoadOrCreateAsync(options, null, null, CancellationToken.None);
        SqliteCertificateStore store = await SqliteCertificateStore.OpenAsync(bootstrap.Hierarchy.Layout.Database, null, CancellationToken.None);
        var authority = new CertificateAuthority(bootstrap.Hierarchy, store, CertificateProfileCatalog.FromOptions(options),
            new ReservedNames(bootstrap.Hierarchy, [bootstrap.ServerCredential.Certificate]));
        return new TestCa(directory, options, bootstrap, store, authority);
    }

    /// <summary>Simulates a restart: closes the store and loads everything again from the data directory.</summary>
    public async Task RestartAsync()
    {
        await Store.DisposeAsync();
        CaBootstrapResult bootstrap = await CaBootstrap.LoadOrCreateAsync(Options, null, null, CancellationToken.None);
        Hierarchy = bootstrap.Hierarchy;
        ServerCredential = bootstrap.ServerCredential;
        Store = await SqliteCertificateStore.OpenAsync(Hierarchy.Layout.Database, null, CancellationToken.None);
        Authority = new CertificateAuthority(Hierarchy, Store, CertificateProfileCatalog.FromOptions(Options), new ReservedNames(Hierarchy, [ServerCredential.Certificate]));
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
