using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using CoapEnroll.Est;

namespace CoapEnroll.Fuzz;

/// <summary>
/// A PKCS#10 request (RFC 2986) as EST and the CA read it: <see cref="CertificationRequest.DecodePkcs10"/>, the template
/// check, the proof of possession, EST's attributes (<see cref="EstCsr"/>) and the CA's validation, which refuses only
/// with <see cref="CsrRejectedException"/>.
/// </summary>
internal sealed class Pkcs10Target : IFuzzTarget
{
    private static readonly CertificateProfile Profile = CertificateProfile.FromOptions("fuzz", null);
    private static readonly X509Certificate2[] CaCertificates = [FuzzKeys.Ca];

    public string Name => "pkcs10";

    public string Description => "CertificationRequest.DecodePkcs10, proof of possession, EstCsr.TryRead, CsrValidator.Validate";

    public void Run(ReadOnlySpan<byte> input)
    {
        byte[] der = input.ToArray();
        EstCsr.TryParse(der, out _);
        if (CertificationRequest.DecodePkcs10(der, out CertificationRequest? request, out _) != CertificationRequestDecodeStatus.Decoded)
        {
            return;
        }

        Check(request!);
    }

    /// <summary>What the CA and EST do with a decoded request of any format.</summary>
    internal static void Check(CertificationRequest request)
    {
        request.TryCheckTemplate(out _, out _);
        _ = request.SubjectAltName;
        request.ProofOfPossession?.Check();
        try
        {
            CsrValidator.Validate(request, null, Profile, CaCertificates);
        }
        catch (CsrRejectedException)
        {
        }
    }
}
