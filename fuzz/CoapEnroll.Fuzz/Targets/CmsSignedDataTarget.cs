using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Pkix;

namespace CoapEnroll.Fuzz;

/// <summary>
/// CMS SignedData (RFC 5652 §5) as clients read it: a certs-only answer (/crts, /cacerts; RFC 9148 §4.1) and an
/// AsymmetricKeyPackage (RFC 5958). Every refusal is a <see cref="CryptographicException"/>.
/// </summary>
internal sealed class CmsSignedDataTarget : IFuzzTarget
{
    public string Name => "cms-signed";

    public string Description => "Pkcs7CertsOnly.Decode, CmsAsymmetricKeyPackage.ReadSingleKey";

    public void Run(ReadOnlySpan<byte> input)
    {
        try
        {
            X509Certificate2Collection certificates = Pkcs7CertsOnly.Decode(input);
            if (certificates.Count == 0)
            {
                throw new FuzzInvariantException("a certs-only answer without certificates was accepted");
            }

            foreach (X509Certificate2 certificate in certificates)
            {
                certificate.Dispose();
            }
        }
        catch (CryptographicException)
        {
        }

        try
        {
            CryptographicOperations.ZeroMemory(CmsAsymmetricKeyPackage.ReadSingleKey(input.ToArray()));
        }
        catch (CryptographicException)
        {
        }
    }
}
