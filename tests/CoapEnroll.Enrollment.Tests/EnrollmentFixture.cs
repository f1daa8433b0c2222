using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using CoapEnroll.Hosting;

namespace CoapEnroll.Enrollment.Tests;

/// <summary>A demo CA in a temporary directory (the host's <see cref="CaBootstrap"/>), its store, and an enrollment service on it; no transport at all.</summary>
internal sealed class EnrollmentFixture : IAsyncDisposable
{
    private readonly string _directory;

    private EnrollmentFixture(string directory, CaHierarchy hierarchy, SqliteCertificateStore store, CertificateAuthority authority, EnrollmentService service)
    {
        _directory = directory;
        Hierarchy = hierarchy;
        Store = store;
        Authority = authority;
        Service = service;
    }

    public CaHierarchy Hierarchy { get; }

    public SqliteCertificateStore Store { get; }

    public CertificateAuthority Authority { get; }

    public EnrollmentService Service { get; }

    public static async Task<EnrollmentFixture> CreateAsync(Action<EnrollmentOptions>? configure = null, Action<CaOptions>? configureCa = null, TimeProvider? time = null)
    {
        string directory = Directory.CreateTempSubdirectory("coapenroll-enrollment-").FullName;
        var caOptions = new CaOptions { DataDirectory = directory };
        configureCa?.Invoke(caOptions);
        CaBootstrapResult bootstrap = await CaBootstrap.LoadOrCreateAsync(caOptions, null, null, CancellationToken.None);
        CaHierarchy hierarchy = bootstrap.Hierarchy;
        SqliteCertificateStore store = await SqliteCertificateStore.OpenAsync(hierarchy.Layout.Database, null, CancellationToken.None);
        var authority = new CertificateAuthority(hierarchy, store, CertificateProfileCatalog.FromOptions(caOptions),
            new ReservedNames(hierarchy, [bootstrap.ServerCredential.Certificate]));
        var options = new EnrollmentOptions { KeyGenerationSecret = new byte[32] };
        configure?.Invoke(options);
        return new EnrollmentFixture(directory, hierarchy, store, authority, new EnrollmentService(authority, hierarchy, options, null, time));
    }

    /// <summary>The demo IDevID (CN=demo-device-1, from the demo manufacturer CA) with its key.</summary>
    public X509Certificate2 DeviceCertificate() =>
        X509Certificate2.CreateFromPemFile(Hierarchy.Layout.DemoDeviceCertificate, Hierarchy.Layout.DemoDeviceKey);

    /// <summary>
    /// Another device of the demo manufacturer, an IDevID with <paramref name="subject"/> (RFC 4514 form) and optionally SAN
    /// dNSNames, with its key.
    /// </summary>
    public X509Certificate2 ManufacturerDevice(string subject, params string[] dnsNames)
    {
        using X509Certificate2 manufacturer = X509Certificate2.CreateFromPemFile(Hierarchy.Layout.ManufacturerCaCertificate, Hierarchy.Layout.ManufacturerCaKey);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(DistinguishedNameParser.TryParse(subject, out _)!, key, HashAlgorithmName.SHA256);
        if (dnsNames.Length > 0)
        {
            var san = new SubjectAlternativeNameBuilder();
            foreach (string name in dnsNames)
            {
                san.AddDnsName(name);
            }

            request.CertificateExtensions.Add(san.Build());
        }

        using X509Certificate2 device = request.Create(manufacturer, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(30), RandomNumberGenerator.GetBytes(9));
        return device.CopyWithPrivateKey(key);
    }

    public static byte[] TlsUnique { get; } = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

    public static PeerIdentity Peer(X509Certificate2 certificate, ChannelBinding? binding = null) =>
        PeerIdentity.SecureChannel("test", [certificate], null, binding ?? ChannelBinding.TlsUnique("DTLS", TlsUnique));

    public async Task<Requester> AuthenticateAsync(X509Certificate2 certificate, ChannelBinding? binding = null) =>
        (await Service.AuthenticateAsync(Peer(certificate, binding), CancellationToken.None)).Requester
        ?? throw new InvalidOperationException("not authenticated");

    public static CertificationRequest Decode(byte[] der)
    {
        Assert.Equal(CertificationRequestDecodeStatus.Decoded, CertificationRequest.DecodePkcs10(der, out CertificationRequest? request, out _));
        return request!;
    }

    /// <summary>A P-256 PKCS#10 request for <paramref name="subject"/> (RFC 4514 form), optionally with a challengePassword and SAN dNSNames.</summary>
    public static byte[] Csr(string subject, string? challengePassword = null, ECDsa? key = null, params string[] dnsNames)
    {
        key ??= ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(DistinguishedNameParser.TryParse(subject, out string? error) ?? throw new ArgumentException(error, nameof(subject)),
            key, HashAlgorithmName.SHA256);
        if (dnsNames.Length > 0)
        {
            var san = new SubjectAlternativeNameBuilder();
            foreach (string name in dnsNames)
            {
                san.AddDnsName(name);
            }

            request.CertificateExtensions.Add(san.Build());
        }

        if (challengePassword is not null)
        {
            var writer = new System.Formats.Asn1.AsnWriter(System.Formats.Asn1.AsnEncodingRules.DER);
            writer.WriteCharacterString(System.Formats.Asn1.UniversalTagNumber.UTF8String, challengePassword);
            request.OtherRequestAttributes.Add(new AsnEncodedData("1.2.840.113549.1.9.7", writer.Encode()));
        }

        return request.CreateSigningRequest();
    }

    public static string Claim() => Convert.ToBase64String(TlsUnique);

    public static EnrollmentRequest Request(Requester requester, byte[] csr, EnrollmentOperation operation = EnrollmentOperation.Enroll, string? claim = null,
        string? profile = null) => new()
    {
        Requester = requester,
        Operation = operation,
        OperationName = operation switch { EnrollmentOperation.Enroll => "sen", EnrollmentOperation.Reenroll => "sren", _ => "skg" },
        ProfileName = profile,
        Request = Decode(csr),
        ChannelBindingClaim = claim,
    };

    public async Task<IReadOnlyList<StoredRequest>> RejectedAsync() => await Store.ListRequestsAsync(RequestStatus.Rejected, 100, CancellationToken.None);

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
