using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Pkix;

/// <summary>
/// A private key as an AsymmetricKeyPackage (RFC 5958 §2) signed in a CMS SignedData (RFC 5652 §5), as a party that generates a
/// key for another delivers it (EST server-side key generation, RFC 7030 §4.4.2; CMP central key generation, RFC 9483 §4.1.6)
/// before enveloping it for the recipient.
/// </summary>
public static class CmsAsymmetricKeyPackage
{
    /// <summary>
    /// The DER ContentInfo of a SignedData whose content is the AsymmetricKeyPackage holding <paramref name="pkcs8"/> (a PKCS#8
    /// PrivateKeyInfo is a version-1 OneAsymmetricKey), signed by <paramref name="signer"/> (which has its private key), named by
    /// issuer and serial number, carrying the signer certificate and <paramref name="signerIntermediates"/>.
    /// </summary>
    /// <remarks>The result holds the private key in the clear: clear it once it is enveloped.</remarks>
    public static byte[] Sign(byte[] pkcs8, X509Certificate2 signer, IEnumerable<X509Certificate2> signerIntermediates)
    {
        ArgumentNullException.ThrowIfNull(signerIntermediates);

        // AsymmetricKeyPackage ::= SEQUENCE SIZE (1..MAX) OF OneAsymmetricKey
        var package = new AsnWriter(AsnEncodingRules.DER);
        using (package.PushSequence())
        {
            package.WriteEncodedValue(pkcs8);
        }

        var signed = new SignedCms(new ContentInfo(new Oid(PkixOids.AsymmetricKeyPackage), package.Encode()), detached: false);
        var cmsSigner = new CmsSigner(SubjectIdentifierType.IssuerAndSerialNumber, signer) { IncludeOption = X509IncludeOption.EndCertOnly };
        cmsSigner.Certificates.AddRange(signerIntermediates.ToArray());
        signed.ComputeSignature(cmsSigner, silent: true);
        return signed.Encode();
    }

    /// <summary>The one OneAsymmetricKey (DER) of an AsymmetricKeyPackage; the caller has checked the SignedData around it.</summary>
    /// <exception cref="CryptographicException">The package is malformed or carries more than one key.</exception>
    public static byte[] ReadSingleKey(ReadOnlyMemory<byte> package)
    {
        try
        {
            var reader = new AsnReader(package, AsnEncodingRules.DER);
            AsnReader keys = reader.ReadSequence();
            reader.ThrowIfNotEmpty();
            byte[] first = keys.ReadEncodedValue().ToArray();
            if (keys.HasData)
            {
                throw new CryptographicException("the AsymmetricKeyPackage carries more than one key");
            }

            return first;
        }
        catch (AsnContentException ex)
        {
            throw new CryptographicException("the AsymmetricKeyPackage is malformed: " + ex.Message, ex);
        }
    }
}
