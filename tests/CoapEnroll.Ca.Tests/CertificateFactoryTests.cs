using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Ca.Tests;

/// <summary>
/// <see cref="CertificateFactory.Issue"/> encodes the certificate itself: it must write what <see cref="CertificateRequest.Create(X500DistinguishedName, X509SignatureGenerator, DateTimeOffset, DateTimeOffset, byte[])"/>
/// wrote for the same input, octet for octet. ECDSA signatures differ between two signings, so for ECDSA issuers the
/// TBSCertificate and the signature algorithm are compared and both signatures verified; RSA PKCS#1 v1.5 is deterministic,
/// so there the whole certificate is compared.
/// </summary>
public sealed class CertificateFactoryTests
{
    public static TheoryData<string, string, string> Cases => new()
    {
        // issuer key, subject key, serial (hex) / validity / extensions variant
        { "p256", "p256", "standard" },
        { "p384", "p256", "standard" },
        { "p256", "p384", "leading-zeros" },
        { "p256", "rsa", "top-bit" },
        { "rsa-pkcs1", "p256", "standard" },
        { "rsa-pkcs1", "rsa", "after-2049" },
        { "rsa-pss", "p256", "no-extensions" },
        { "p256", "p256", "after-2049" },
        { "p256", "p256", "before-1950" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Issue_writes_what_CertificateRequest_wrote(string issuerKind, string subjectKind, string variant)
    {
        using AsymmetricAlgorithm issuerKey = Key(issuerKind);
        RSASignaturePadding padding = issuerKind == "rsa-pss" ? RSASignaturePadding.Pss : RSASignaturePadding.Pkcs1;
        DateTimeOffset now = new DateTimeOffset(2026, 12, 7, 1, 2, 3, TimeSpan.Zero).AddTicks(1_234_567);
        using X509Certificate2 issuer = CertificateFactory.CreateSelfSignedCa(new X500DistinguishedName("CN=Factory Test CA, O=CoapEnroll"), issuerKey,
            new DateTimeOffset(1940, 1, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2070, 1, 1, 0, 0, 0, TimeSpan.Zero), pathLength: 0);
        using AsymmetricAlgorithm subjectKey = Key(subjectKind);
        var publicKey = subjectKey switch
        {
            ECDsa ec => new PublicKey(ec),
            RSA rsa => new PublicKey(rsa),
            _ => throw new InvalidOperationException(),
        };
        var subject = new X500DistinguishedName("CN=dev-7, OU=Field \"units\", O=Exämple, C=DE");
        (DateTimeOffset notBefore, DateTimeOffset notAfter) = variant switch
        {
            "after-2049" => (now.AddMinutes(-5), new DateTimeOffset(2055, 6, 1, 12, 0, 0, TimeSpan.FromHours(2)).AddTicks(9_999_999)),
            "before-1950" => (new DateTimeOffset(1945, 3, 1, 0, 0, 0, TimeSpan.Zero).AddTicks(42), now.AddDays(30)),
            _ => (now.AddMinutes(-5), now.AddDays(365)),
        };
        byte[] serial = variant switch
        {
            "leading-zeros" => Convert.FromHexString("0000001234"),
            "top-bit" => Convert.FromHexString("80112233445566778899AABBCCDDEEFF"),
            _ => CertificateFactory.NewSerialNumber(),
        };
        IReadOnlyList<X509Extension> extensions = variant == "no-extensions" ? [] : Extensions();

        IssuedCertificate issued = CertificateFactory.Issue(subject, publicKey, issuer, issuerKey, padding, notBefore, notAfter, serial, extensions);
        byte[] reference = Reference(subject, publicKey, issuer, issuerKey, padding, notBefore, notAfter, serial, extensions);

        (byte[] tbs, byte[] algorithm, byte[] signature) = Split(issued.Der);
        (byte[] referenceTbs, byte[] referenceAlgorithm, byte[] referenceSignature) = Split(reference);
        Assert.Equal(Convert.ToHexString(referenceTbs), Convert.ToHexString(tbs));
        Assert.Equal(referenceAlgorithm, algorithm);
        if (issuerKey is RSA && padding == RSASignaturePadding.Pkcs1)
        {
            Assert.Equal(reference, issued.Der);
        }

        using X509Certificate2 loaded = X509CertificateLoader.LoadCertificate(issued.Der);
        Assert.True(Verifies(issuer, tbs, signature, padding), "the signature verifies with the issuer's public key");
        Assert.True(Verifies(issuer, referenceTbs, referenceSignature, padding));

        // The fields the store records are those .NET reads from the DER.
        StoredCertificate fromIssued = StoredCertificate.FromIssued(issued, "p", "r", null);
        StoredCertificate fromDecoded = StoredCertificate.FromCertificate(loaded, "p", "r", null);
        Assert.Equal(fromDecoded, fromIssued with { Der = fromDecoded.Der });
        Assert.Equal(fromDecoded.Der, fromIssued.Der);
        Assert.Same(issued.Certificate, issued.Certificate);
        Assert.Equal(issued.Der, issued.Certificate.RawData);
    }

    [Fact]
    public void Issue_clamps_the_validity_to_the_issuer_s_and_refuses_what_CertificateRequest_refused()
    {
        using ECDsa issuerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        DateTimeOffset now = DateTimeOffset.UtcNow;
        using X509Certificate2 issuer = CertificateFactory.CreateSelfSignedCa(new X500DistinguishedName("CN=Clamp CA"), issuerKey, now.AddDays(-1), now.AddDays(10), null);
        using ECDsa subjectKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var publicKey = new PublicKey(subjectKey);
        var subject = new X500DistinguishedName("CN=dev");

        IssuedCertificate clamped = CertificateFactory.Issue(subject, publicKey, issuer, issuerKey, RSASignaturePadding.Pkcs1, now.AddYears(-1), now.AddYears(1),
            CertificateFactory.NewSerialNumber(), []);
        Assert.Equal(new DateTimeOffset(issuer.NotBefore.ToUniversalTime(), TimeSpan.Zero), clamped.NotBefore);
        Assert.Equal(new DateTimeOffset(issuer.NotAfter.ToUniversalTime(), TimeSpan.Zero), clamped.NotAfter);

        Assert.Throws<ArgumentException>(() => CertificateFactory.Issue(subject, publicKey, issuer, issuerKey, RSASignaturePadding.Pkcs1, now, now.AddSeconds(-1),
            CertificateFactory.NewSerialNumber(), []));
        Assert.Throws<ArgumentException>(() => CertificateFactory.Issue(subject, publicKey, issuer, issuerKey, RSASignaturePadding.Pkcs1, now, now.AddDays(1), [], []));
        // The SKI is the factory's to add: a second one is refused, as CertificateRequest refused a repeated extension.
        ArgumentException twice = Assert.Throws<ArgumentException>(() => CertificateFactory.Issue(subject, publicKey, issuer, issuerKey, RSASignaturePadding.Pkcs1,
            now, now.AddDays(1), CertificateFactory.NewSerialNumber(), [new X509SubjectKeyIdentifierExtension(publicKey, critical: false)]));
        Assert.Contains("2.5.29.14", twice.Message);
        Assert.Throws<ArgumentException>(() => CertificateFactory.Issue(subject, publicKey, issuer, issuerKey, RSASignaturePadding.Pkcs1, now, now.AddDays(1),
            CertificateFactory.NewSerialNumber(), [new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true), new X509KeyUsageExtension(X509KeyUsageFlags.KeyAgreement, false)]));
    }

    private static IReadOnlyList<X509Extension> Extensions()
    {
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("dev-7.example");
        san.AddIpAddress(System.Net.IPAddress.Parse("192.0.2.7"));
        return
        [
            new X509BasicConstraintsExtension(false, false, 0, critical: true),
            new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, critical: true),
            new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2"), new Oid("1.3.6.1.5.5.7.3.1")], critical: false),
            san.Build(),
        ];
    }

    // What CertificateFactory.Sign did before Issue existed: CertificateRequest with the extensions, then SKI and AKI.
    private static byte[] Reference(X500DistinguishedName subject, PublicKey publicKey, X509Certificate2 issuer, AsymmetricAlgorithm issuerKey, RSASignaturePadding padding,
        DateTimeOffset notBefore, DateTimeOffset notAfter, byte[] serial, IReadOnlyList<X509Extension> extensions)
    {
        var (generator, hash) = CertificateFactory.SignerFor(issuerKey, padding);
        var request = new CertificateRequest(subject, publicKey, hash);
        foreach (X509Extension extension in extensions)
        {
            request.CertificateExtensions.Add(extension);
        }

        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(publicKey, critical: false));
        request.CertificateExtensions.Add(CertificateFactory.AuthorityKeyIdentifierFor(issuer));
        using X509Certificate2 certificate = request.Create(issuer.SubjectName, generator, notBefore, notAfter, serial);
        return certificate.RawData;
    }

    private static (byte[] Tbs, byte[] Algorithm, byte[] Signature) Split(byte[] der)
    {
        var reader = new AsnReader(der, AsnEncodingRules.DER);
        AsnReader certificate = reader.ReadSequence();
        reader.ThrowIfNotEmpty();
        byte[] tbs = certificate.ReadEncodedValue().ToArray();
        byte[] algorithm = certificate.ReadEncodedValue().ToArray();
        byte[] signature = certificate.ReadBitString(out int unused);
        Assert.Equal(0, unused);
        certificate.ThrowIfNotEmpty();
        return (tbs, algorithm, signature);
    }

    private static bool Verifies(X509Certificate2 issuer, byte[] tbs, byte[] signature, RSASignaturePadding padding)
    {
        if (issuer.GetECDsaPublicKey() is { } ec)
        {
            using (ec)
            {
                HashAlgorithmName hash = ec.KeySize > 256 ? HashAlgorithmName.SHA384 : HashAlgorithmName.SHA256;
                return ec.VerifyData(tbs, signature, hash, DSASignatureFormat.Rfc3279DerSequence);
            }
        }

        using RSA rsa = issuer.GetRSAPublicKey()!;
        return rsa.VerifyData(tbs, signature, HashAlgorithmName.SHA256, padding);
    }

    private static AsymmetricAlgorithm Key(string kind) => kind switch
    {
        "p256" => ECDsa.Create(ECCurve.NamedCurves.nistP256),
        "p384" => ECDsa.Create(ECCurve.NamedCurves.nistP384),
        _ => RSA.Create(2048),
    };
}
