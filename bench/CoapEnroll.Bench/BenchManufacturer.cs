using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Dtls;
using X509Request = System.Security.Cryptography.X509Certificates.CertificateRequest;

namespace CoapEnroll.Bench;

/// <summary>
/// The load generator's own manufacturer: a self-signed ECDSA P-256 CA kept in DIR/manufacturer-ca.pem and DIR/manufacturer-ca.key, and
/// one IDevID-like certificate per simulated device (<c>serialNumber=BENCH-000042, CN=bench-dev-42, O=CoapEnroll Bench Manufacturer</c>,
/// end-entity, digitalSignature, clientAuth, a key of its own). serve trusts it through its shipped option
/// <c>--trust-manufacturer DIR/manufacturer-ca.pem</c> (<c>Ca:TrustedManufacturerCaFiles</c>); under the shipped name policy
/// (BoundToRequester) device N may then enroll <c>CN=bench-dev-N</c>, so every device asks for a name of its own.
/// </summary>
internal sealed class BenchManufacturer : IDisposable
{
    public const string CertificateFileName = "manufacturer-ca.pem";

    private const string KeyFileName = "manufacturer-ca.key";

    private BenchManufacturer(X509Certificate2 ca, string directory)
    {
        Ca = ca;
        CertificatePath = Path.Combine(directory, CertificateFileName);
    }

    /// <summary>The CA certificate with its private key.</summary>
    public X509Certificate2 Ca { get; }

    /// <summary>The PEM file serve is given as <c>--trust-manufacturer</c>.</summary>
    public string CertificatePath { get; }

    /// <summary>The CN of device <paramref name="device"/>, which is also its CMP reference.</summary>
    public static string DeviceName(int device) => "bench-dev-" + device.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// Loads the manufacturer in <paramref name="directory"/>, or creates it there (the directory too) when there is none;
    /// <paramref name="created"/> says which.
    /// </summary>
    public static BenchManufacturer LoadOrCreate(string directory, out bool created)
    {
        string certificatePath = Path.Combine(directory, CertificateFileName);
        string keyPath = Path.Combine(directory, KeyFileName);
        created = !File.Exists(certificatePath);
        if (!created)
        {
            return new BenchManufacturer(X509Certificate2.CreateFromPemFile(certificatePath, keyPath), directory);
        }

        Directory.CreateDirectory(directory);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new X509Request("CN=CoapEnroll Bench Manufacturer CA, O=CoapEnroll Bench Manufacturer", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        X509Certificate2 ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(5));
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.WriteAllText(certificatePath, ca.ExportCertificatePem() + "\n");
        return new BenchManufacturer(ca, directory);
    }

    /// <summary>A fresh certificate (and P-256 key) for device <paramref name="device"/>.</summary>
    public X509Certificate2 IssueDevice(int device)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        string serial = "BENCH-" + device.ToString("D6", CultureInfo.InvariantCulture);
        var subject = new X500DistinguishedNameBuilder();
        subject.AddOrganizationName("CoapEnroll Bench Manufacturer");
        subject.AddCommonName(DeviceName(device));
        subject.Add("2.5.4.5", serial, System.Formats.Asn1.UniversalTagNumber.PrintableString);
        var request = new X509Request(subject.Build(), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2", "clientAuth")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Ca, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        byte[] serialNumber = RandomNumberGenerator.GetBytes(16);
        serialNumber[0] &= 0x7F;
        using X509Certificate2 issued = request.Create(Ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(4), serialNumber);
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>
    /// DTLS client options for <paramref name="devices"/> devices, each with a certificate of its own, trusting
    /// <paramref name="serverTrustAnchors"/> for serve's certificate.
    /// </summary>
    public DtlsClientOptions[] DeviceOptions(int devices, X509Certificate2Collection serverTrustAnchors)
    {
        var options = new DtlsClientOptions[devices];
        for (int d = 0; d < devices; d++)
        {
            options[d] = new DtlsClientOptions { ClientCertificate = IssueDevice(d) };
            options[d].ServerCertificateTrustAnchors.AddRange(serverTrustAnchors);
        }

        return options;
    }

    public void Dispose() => Ca.Dispose();
}
