using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Dtls;

namespace CoapEnroll.Fuzz;

/// <summary>
/// A client's Certificate message as the DTLS server handles it (RFC 5246 §7.4.6): the certificate list, each DER
/// certificate, the key, and the chain to the fuzz CA for clientAuth. Failures are nulls and false, never exceptions.
/// </summary>
internal sealed class DtlsCertificateTarget : IFuzzTarget
{
    private static readonly X509Certificate2Collection Anchors = [FuzzKeys.Ca];
    private static readonly DateTimeOffset Now = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public string Name => "dtls-certificate";

    public string Description => "CertificateMessage.TryParse -> DtlsCertificateValidator.TryLoad/SchemeFor/Validate";

    public void Run(ReadOnlySpan<byte> input)
    {
        if (!CertificateMessage.TryParse(input, out CertificateMessage? message) || message.Certificates.Count == 0)
        {
            return;
        }

        X509Certificate2Collection? chain = DtlsCertificateValidator.TryLoad(message.Certificates);
        if (chain is null)
        {
            return;
        }

        try
        {
            using ECDsa? key = chain[0].GetECDsaPublicKey();
            if (key is null || DtlsCertificateValidator.SchemeFor(key) is null)
            {
                return;
            }

            DtlsCertificateValidator.Validate(chain, Anchors, [], X509RevocationMode.NoCheck, Now, DtlsCertificateValidator.ClientAuthOid);
        }
        finally
        {
            foreach (X509Certificate2 certificate in chain)
            {
                certificate.Dispose();
            }
        }
    }
}
