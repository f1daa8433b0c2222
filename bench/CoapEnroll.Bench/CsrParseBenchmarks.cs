using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using BenchmarkDotNet.Attributes;
using CoapEnroll.Ca;

namespace CoapEnroll.Bench;

/// <summary>
/// The PKCS#10 work of one <c>/sen</c> on the server, before and after the enrollment core decoded the request once (issue 8),
/// on the CSR our EST client sends (P-256, ECDSA with SHA-256, CN=demo-device-1, a challengePassword of base64(tls-unique)).
/// <see cref="FourDecodesTwoVerifications"/> replicates what 2371b6d did, through the platform calls it made:
/// <c>EstCsr.TryParse</c> decoded the request and then decoded it again to verify the signature, and the CA's
/// <c>CsrValidator.Validate</c> did both once more. <see cref="DecodeOnceVerifyOnce"/> is today's code:
/// <see cref="CertificationRequest.DecodePkcs10"/> and the proof of possession verified once on the decoded request.
/// </summary>
[MemoryDiagnoser]
public class CsrParseBenchmarks
{
    private const CertificateRequestLoadOptions DecodeOnly =
        CertificateRequestLoadOptions.SkipSignatureValidation | CertificateRequestLoadOptions.UnsafeLoadCertificateExtensions;

    private byte[] _csr = null!;

    [GlobalSetup]
    public void Setup()
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName(EnrollmentProbe.Subject), key, HashAlgorithmName.SHA256);
        var writer = new AsnWriter(AsnEncodingRules.DER);
        writer.WriteCharacterString(UniversalTagNumber.PrintableString, Convert.ToBase64String(RandomNumberGenerator.GetBytes(12)));
        request.OtherRequestAttributes.Add(new AsnEncodedData("1.2.840.113549.1.9.7", writer.Encode()));
        _csr = request.CreateSigningRequest();
    }

    [Benchmark(Baseline = true)]
    public int FourDecodesTwoVerifications()
    {
        // EstCsr.TryParse (verifySignature: true)
        CertificateRequest est = CertificateRequest.LoadSigningRequest(_csr, HashAlgorithmName.SHA256, out int consumed, DecodeOnly);
        CertificateRequest.LoadSigningRequest(_csr, HashAlgorithmName.SHA256, out _, CertificateRequestLoadOptions.Default, RSASignaturePadding.Pkcs1);

        // CsrValidator.Validate
        CertificateRequest ca = CertificateRequest.LoadSigningRequest(_csr, HashAlgorithmName.SHA256, out _, DecodeOnly);
        CertificateRequest.LoadSigningRequest(_csr, HashAlgorithmName.SHA256, out _, CertificateRequestLoadOptions.Default, RSASignaturePadding.Pkcs1);
        return consumed + est.OtherRequestAttributes.Count + ca.CertificateExtensions.Count;
    }

    [Benchmark]
    public int DecodeOnceVerifyOnce()
    {
        CertificationRequest.DecodePkcs10(_csr, out CertificationRequest? request, out _);
        return request!.ProofOfPossession is { } pop && pop.Verify() ? request.Attributes.Count : -1;
    }
}
