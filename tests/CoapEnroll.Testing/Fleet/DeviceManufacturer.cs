using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Testing;

/// <summary>
/// A manufacturer CA (self-signed, ECDSA P-256) that issues device identities (IDevID-like: <c>serialNumber=…, CN=…</c>, clientAuth)
/// in memory, for a server that trusts <see cref="CaPem"/> as a manufacturer CA (<c>Ca:TrustedManufacturerCaFiles</c>).
/// </summary>
public sealed class DeviceManufacturer : IDisposable
{
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly X509Certificate2 _ca;

    public DeviceManufacturer(string name)
    {
        var request = new CertificateRequest($"CN={name}", _key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        DateTimeOffset now = DateTimeOffset.UtcNow;
        _ca = request.CreateSelfSigned(now.AddHours(-2), now.AddDays(30));
    }

    public X509Certificate2 Certificate => _ca;

    public string CaPem => _ca.ExportCertificatePem() + "\n";

    /// <summary>A device certificate for <c>serialNumber=<paramref name="serialNumber"/>, CN=<paramref name="commonName"/></c> with its private key.</summary>
    public X509Certificate2 Issue(string commonName, string serialNumber)
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedNameBuilder();
        subject.Add("2.5.4.5", serialNumber, UniversalTagNumber.PrintableString); // serialNumber
        subject.AddCommonName(commonName);
        var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(_ca, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        DateTimeOffset now = DateTimeOffset.UtcNow;
        using X509Certificate2 certificate = request.Create(_ca, now.AddHours(-1), now.AddDays(7), RandomNumberGenerator.GetBytes(12));
        return certificate.CopyWithPrivateKey(key);
    }

    public void Dispose()
    {
        _ca.Dispose();
        _key.Dispose();
    }
}
