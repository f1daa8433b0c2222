using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Ca;

/// <summary>
/// A certificate the CA signed (or read back from its store), carried as its DER with the fields front ends and the store need.
/// Encoding and signing it does not decode it again (<see cref="CertificateFactory.Issue"/>); <see cref="Certificate"/> decodes it
/// on first use, for the callers that need an <see cref="X509Certificate2"/>.
/// </summary>
public sealed class IssuedCertificate
{
    private X509Certificate2? _certificate;

    internal IssuedCertificate(byte[] der, string serialNumber, string subject, string issuer, DateTimeOffset notBefore, DateTimeOffset notAfter, string publicKeySha256)
    {
        Der = der;
        SerialNumber = serialNumber;
        Subject = subject;
        Issuer = issuer;
        NotBefore = notBefore;
        NotAfter = notAfter;
        PublicKeySha256 = publicKeySha256;
    }

    /// <summary>The certificate DER. Not to be modified.</summary>
    public byte[] Der { get; }

    /// <summary>Serial number as upper-case hex of the INTEGER's content octets (as <see cref="X509Certificate2.SerialNumber"/>).</summary>
    public string SerialNumber { get; }

    /// <summary>Subject DN as <see cref="X509Certificate.Subject"/> prints it.</summary>
    public string Subject { get; }

    /// <summary>Issuer DN as <see cref="X509Certificate.Issuer"/> prints it.</summary>
    public string Issuer { get; }

    /// <summary>notBefore (UTC, whole seconds).</summary>
    public DateTimeOffset NotBefore { get; }

    /// <summary>notAfter (UTC, whole seconds).</summary>
    public DateTimeOffset NotAfter { get; }

    /// <summary>SHA-256 of the SubjectPublicKeyInfo DER, upper-case hex: the store's public-key fingerprint.</summary>
    public string PublicKeySha256 { get; }

    /// <summary>The DER decoded, on first use (then kept; the same object for every caller).</summary>
    public X509Certificate2 Certificate
    {
        get
        {
            if (Volatile.Read(ref _certificate) is { } loaded)
            {
                return loaded;
            }

            X509Certificate2 certificate = X509CertificateLoader.LoadCertificate(Der);
            X509Certificate2? earlier = Interlocked.CompareExchange(ref _certificate, certificate, null);
            if (earlier is null)
            {
                return certificate;
            }

            certificate.Dispose();
            return earlier;
        }
    }

    /// <summary>A store row's certificate, its fields read from the row (which the CA wrote from the same certificate).</summary>
    public static IssuedCertificate FromStored(StoredCertificate stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        return new IssuedCertificate(stored.Der, stored.SerialNumber, stored.Subject, stored.Issuer, stored.NotBefore, stored.NotAfter, stored.PublicKeySha256);
    }
}
