using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Ca.Tests;

/// <summary>PKCS#10 decoded once into the neutral request; its signature (the proof of possession) verified as the platform would.</summary>
public sealed class CertificationRequestTests
{
    public static TheoryData<string> Algorithms => ["ecdsa-p256-sha256", "ecdsa-p384-sha384", "ecdsa-p256-sha512", "rsa-sha256", "rsa-sha512", "rsa-pss"];

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void The_signature_verifies_exactly_when_the_platform_verifies_it(string algorithm)
    {
        byte[] good = Create(algorithm);
        byte[] bad = good.ToArray();
        bad[^2] ^= 0x40;
        foreach (byte[] der in new[] { good, bad })
        {
            Assert.Equal(CertificationRequestDecodeStatus.Decoded, CertificationRequest.DecodePkcs10(der, out CertificationRequest? request, out _));
            Assert.Equal(PlatformVerifies(der), request!.ProofOfPossession!.Verify());
            Assert.Equal(ProofOfPossessionMethod.Signature, request.ProofOfPossession.Method);
        }

        Assert.True(PlatformVerifies(good) || algorithm == "rsa-pss");
    }

    [Fact]
    public void The_template_is_read_once_from_the_request()
    {
        byte[] der = TestCa.Csr("CN=dev-1", r =>
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddDnsName("dev1.example");
            r.CertificateExtensions.Add(san.Build());
        });
        Assert.Equal(CertificationRequestDecodeStatus.Decoded, CertificationRequest.DecodePkcs10(der, out CertificationRequest? request, out _));
        Assert.Equal("CN=dev-1", request!.Subject.Name);
        Assert.NotNull(request.SubjectAltName);
        Assert.Equal(CertificationRequestFormat.Pkcs10, request.Format);
        Assert.True(request.Encoded.Span.SequenceEqual(der));
    }

    [Fact]
    public void Trailing_data_and_garbage_are_told_apart()
    {
        byte[] der = TestCa.Csr();
        Assert.Equal(CertificationRequestDecodeStatus.TrailingData, CertificationRequest.DecodePkcs10(der.Append((byte)0).ToArray(), out _, out _));
        Assert.Equal(CertificationRequestDecodeStatus.Malformed, CertificationRequest.DecodePkcs10(der.AsMemory(0, der.Length - 3), out _, out string? detail));
        Assert.False(string.IsNullOrEmpty(detail));
    }

    private static bool PlatformVerifies(byte[] der)
    {
        try
        {
            CertificateRequest.LoadSigningRequest(der, HashAlgorithmName.SHA256, out _, CertificateRequestLoadOptions.Default, RSASignaturePadding.Pkcs1);
            return true;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private static byte[] Create(string algorithm)
    {
        switch (algorithm)
        {
            case "ecdsa-p256-sha256" or "ecdsa-p384-sha384" or "ecdsa-p256-sha512":
                using (var ec = ECDsa.Create(algorithm.Contains("p384", StringComparison.Ordinal) ? ECCurve.NamedCurves.nistP384 : ECCurve.NamedCurves.nistP256))
                {
                    HashAlgorithmName hash = algorithm.EndsWith("sha384", StringComparison.Ordinal) ? HashAlgorithmName.SHA384
                        : algorithm.EndsWith("sha512", StringComparison.Ordinal) ? HashAlgorithmName.SHA512 : HashAlgorithmName.SHA256;
                    return new CertificateRequest("CN=dev-1", ec, hash).CreateSigningRequest();
                }

            default:
                using (var rsa = RSA.Create(2048))
                {
                    RSASignaturePadding padding = algorithm == "rsa-pss" ? RSASignaturePadding.Pss : RSASignaturePadding.Pkcs1;
                    HashAlgorithmName hash = algorithm == "rsa-sha512" ? HashAlgorithmName.SHA512 : HashAlgorithmName.SHA256;
                    return new CertificateRequest("CN=dev-1", rsa, hash, padding).CreateSigningRequest();
                }
        }
    }
}
