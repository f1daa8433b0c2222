using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Ca;

/// <summary>
/// Builds and signs X.509 v3 certificates (RFC 5280) with System.Security.Cryptography: the CA's issuance, and the CA certificates
/// a host creates for itself (the demo PKI of <c>CoapEnroll.Hosting</c>), so that both carry the same extensions.
/// </summary>
public static class CertificateFactory
{
    /// <summary>Serial numbers are 16 random octets: positive, non-zero, at most 20 octets (RFC 5280 section 4.1.2.2).</summary>
    internal const int SerialLength = 16;

    /// <summary>A fresh random serial number: top bit cleared (positive), first octet non-zero (minimal DER, always 16 octets).</summary>
    public static byte[] NewSerialNumber()
    {
        byte[] serial = RandomNumberGenerator.GetBytes(SerialLength);
        serial[0] &= 0x7F;
        if (serial[0] == 0)
        {
            serial[0] = (byte)RandomNumberGenerator.GetInt32(1, 0x80);
        }

        return serial;
    }

    /// <summary>The signature generator and hash for a CA key: ECDSA with SHA-256/384/512 by curve size (RFC 5758 section 3.2), RSA PKCS#1 v1.5 with SHA-256 (RFC 4055).</summary>
    internal static (X509SignatureGenerator Generator, HashAlgorithmName Hash) SignerFor(AsymmetricAlgorithm key) => SignerFor(key, RSASignaturePadding.Pkcs1);

    /// <summary>
    /// The signature generator and hash for a CA key: ECDSA with SHA-256/384/512 by curve size (RFC 5758 section 3.2), RSA with
    /// SHA-256 and <paramref name="rsaPadding"/> (PKCS#1 v1.5, or RSASSA-PSS with MGF1-SHA-256 and a 32-octet salt: RFC 4055).
    /// </summary>
    public static (X509SignatureGenerator Generator, HashAlgorithmName Hash) SignerFor(AsymmetricAlgorithm key, RSASignaturePadding rsaPadding) => key switch
    {
        ECDsa ec => (X509SignatureGenerator.CreateForECDsa(ec), ec.KeySize switch
        {
            <= 256 => HashAlgorithmName.SHA256,
            <= 384 => HashAlgorithmName.SHA384,
            _ => HashAlgorithmName.SHA512,
        }),
        RSA rsa => (X509SignatureGenerator.CreateForRSA(rsa, rsaPadding), HashAlgorithmName.SHA256),
        _ => throw new NotSupportedException($"CA key type {key.GetType().Name} is not supported"),
    };

    /// <summary>The CA's private key.</summary>
    internal static AsymmetricAlgorithm PrivateKeyOf(X509Certificate2 certificate) =>
        (AsymmetricAlgorithm?)certificate.GetECDsaPrivateKey() ?? certificate.GetRSAPrivateKey()
        ?? throw new InvalidOperationException($"certificate {certificate.Subject} has no usable private key");

    /// <summary>Creates a self-signed CA certificate: BasicConstraints CA:true (critical), KeyUsage keyCertSign|cRLSign (critical), SKI and AKI (RFC 5280 sections 4.2.1.1-4.2.1.3, 4.2.1.9).</summary>
    public static X509Certificate2 CreateSelfSignedCa(X500DistinguishedName subject, AsymmetricAlgorithm key, DateTimeOffset notBefore, DateTimeOffset notAfter, int? pathLength)
    {
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentNullException.ThrowIfNull(key);
        var (generator, hash) = SignerFor(key);
        var request = new CertificateRequest(subject, generator.PublicKey, hash);
        var ski = new X509SubjectKeyIdentifierExtension(generator.PublicKey, critical: false);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, pathLength.HasValue, pathLength ?? 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(ski);
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromSubjectKeyIdentifier(ski));
        return request.Create(subject, generator, notBefore, notAfter, NewSerialNumber());
    }

    /// <summary>Creates a subordinate CA certificate signed by <paramref name="issuer"/> (which must carry its private key).</summary>
    /// <remarks><paramref name="digitalSignature"/> adds digitalSignature to the KeyUsage, for a CA whose key also signs CMP messages (RFC 9483 §3.5).</remarks>
    public static X509Certificate2 CreateSubordinateCa(X500DistinguishedName subject, PublicKey publicKey, X509Certificate2 issuer, DateTimeOffset notBefore, DateTimeOffset notAfter, int pathLength,
        bool digitalSignature = false)
    {
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentNullException.ThrowIfNull(publicKey);
        ArgumentNullException.ThrowIfNull(issuer);
        return Sign(subject, publicKey, issuer, notBefore, notAfter, NewSerialNumber(), SubordinateCaExtensions(pathLength, digitalSignature));
    }

    /// <summary>
    /// The extensions of a subordinate CA certificate: BasicConstraints CA:true with <paramref name="pathLength"/>, KeyUsage
    /// keyCertSign|cRLSign, with digitalSignature when <paramref name="digitalSignature"/> (both critical).
    /// </summary>
    public static IReadOnlyList<X509Extension> SubordinateCaExtensions(int pathLength, bool digitalSignature = false) =>
    [
        new X509BasicConstraintsExtension(true, true, pathLength, critical: true),
        new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | (digitalSignature ? X509KeyUsageFlags.DigitalSignature : X509KeyUsageFlags.None), critical: true),
    ];

    /// <summary>
    /// Signs a certificate for <paramref name="publicKey"/> with <paramref name="issuer"/>'s key, adding SKI (method 1 of RFC 5280
    /// section 4.2.1.2) and AKI (keyIdentifier of the issuer, section 4.2.1.1) to <paramref name="extensions"/>.
    /// notAfter is clamped to the issuer's notAfter and notBefore to the issuer's notBefore.
    /// </summary>
    public static X509Certificate2 Sign(X500DistinguishedName subject, PublicKey publicKey, X509Certificate2 issuer,
        DateTimeOffset notBefore, DateTimeOffset notAfter, byte[] serialNumber, IEnumerable<X509Extension> extensions)
    {
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentNullException.ThrowIfNull(publicKey);
        ArgumentNullException.ThrowIfNull(issuer);
        ArgumentNullException.ThrowIfNull(serialNumber);
        ArgumentNullException.ThrowIfNull(extensions);
        using AsymmetricAlgorithm issuerKey = PrivateKeyOf(issuer);
        return Sign(subject, publicKey, issuer, issuerKey, RSASignaturePadding.Pkcs1, notBefore, notAfter, serialNumber, extensions);
    }

    /// <summary>
    /// As <see cref="Sign(X500DistinguishedName, PublicKey, X509Certificate2, DateTimeOffset, DateTimeOffset, byte[], IEnumerable{X509Extension})"/>,
    /// signing with <paramref name="issuerKey"/> (a file key or a token's, see <see cref="CaSigningKey"/>) instead of a key attached to <paramref name="issuer"/>.
    /// </summary>
    public static X509Certificate2 Sign(X500DistinguishedName subject, PublicKey publicKey, X509Certificate2 issuer, AsymmetricAlgorithm issuerKey,
        RSASignaturePadding rsaPadding, DateTimeOffset notBefore, DateTimeOffset notAfter, byte[] serialNumber, IEnumerable<X509Extension> extensions) =>
        Issue(subject, publicKey, issuer, issuerKey, rsaPadding, notBefore, notAfter, serialNumber, extensions).Certificate;

    /// <summary>
    /// Signs a certificate as <see cref="Sign(X500DistinguishedName, PublicKey, X509Certificate2, AsymmetricAlgorithm, RSASignaturePadding, DateTimeOffset, DateTimeOffset, byte[], IEnumerable{X509Extension})"/>
    /// does and returns its DER with the fields the store records, without decoding what it signed. The encoding is the one
    /// <see cref="CertificateRequest.Create(X500DistinguishedName, X509SignatureGenerator, DateTimeOffset, DateTimeOffset, byte[])"/>
    /// writes for the same input: version 3, the serial as a minimal positive INTEGER, the generator's AlgorithmIdentifier in
    /// the TBSCertificate and the Certificate, UTCTime for the years 1950-2049 and GeneralizedTime otherwise (RFC 5280 section
    /// 4.1.2.5), whole seconds, the extensions in the order given, then SKI and AKI, criticality written only when true (DER
    /// omits a DEFAULT value).
    /// </summary>
    /// <exception cref="ArgumentException">notAfter before notBefore (after clamping), an empty serial number, or two extensions with the same OID.</exception>
    public static IssuedCertificate Issue(X500DistinguishedName subject, PublicKey publicKey, X509Certificate2 issuer, AsymmetricAlgorithm issuerKey,
        RSASignaturePadding rsaPadding, DateTimeOffset notBefore, DateTimeOffset notAfter, byte[] serialNumber, IEnumerable<X509Extension> extensions)
    {
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentNullException.ThrowIfNull(publicKey);
        ArgumentNullException.ThrowIfNull(issuer);
        ArgumentNullException.ThrowIfNull(issuerKey);
        ArgumentNullException.ThrowIfNull(rsaPadding);
        ArgumentNullException.ThrowIfNull(serialNumber);
        ArgumentNullException.ThrowIfNull(extensions);

        DateTimeOffset issuerNotBefore = new(issuer.NotBefore.ToUniversalTime(), TimeSpan.Zero);
        DateTimeOffset issuerNotAfter = new(issuer.NotAfter.ToUniversalTime(), TimeSpan.Zero);
        if (notBefore < issuerNotBefore)
        {
            notBefore = issuerNotBefore;
        }

        if (notAfter > issuerNotAfter)
        {
            notAfter = issuerNotAfter;
        }

        if (notAfter < notBefore)
        {
            throw new ArgumentException($"notAfter {notAfter:u} is before notBefore {notBefore:u}", nameof(notAfter));
        }

        if (serialNumber.Length == 0)
        {
            throw new ArgumentException("the serial number is empty", nameof(serialNumber));
        }

        var (generator, hash) = SignerFor(issuerKey, rsaPadding);
        byte[] signatureAlgorithm = generator.GetSignatureAlgorithmIdentifier(hash);
        byte[] subjectPublicKeyInfo = publicKey.ExportSubjectPublicKeyInfo();
        ReadOnlySpan<byte> serial = SerialContent(serialNumber);

        var writer = new AsnWriter(AsnEncodingRules.DER, initialCapacity: 1024);
        using (writer.PushSequence())
        {
            using (writer.PushSequence(ExplicitVersion))
            {
                writer.WriteInteger(2);
            }

            writer.WriteInteger(serial);
            writer.WriteEncodedValue(signatureAlgorithm);
            writer.WriteEncodedValue(issuer.SubjectName.RawData);
            using (writer.PushSequence())
            {
                WriteTime(writer, notBefore);
                WriteTime(writer, notAfter);
            }

            writer.WriteEncodedValue(subject.RawData);
            writer.WriteEncodedValue(subjectPublicKeyInfo);
            using (writer.PushSequence(ExplicitExtensions))
            using (writer.PushSequence())
            {
                var oids = new HashSet<string>(StringComparer.Ordinal);
                foreach (X509Extension extension in extensions.Append(new X509SubjectKeyIdentifierExtension(publicKey, critical: false)).Append(AuthorityKeyIdentifierFor(issuer)))
                {
                    string oid = extension.Oid?.Value ?? throw new ArgumentException("an extension has no OID", nameof(extensions));
                    if (!oids.Add(oid))
                    {
                        throw new ArgumentException($"extension {oid} is given twice", nameof(extensions));
                    }

                    using (writer.PushSequence())
                    {
                        writer.WriteObjectIdentifier(oid);
                        if (extension.Critical)
                        {
                            writer.WriteBoolean(true);
                        }

                        writer.WriteOctetString(extension.RawData);
                    }
                }
            }
        }

        byte[] tbsCertificate = writer.Encode();
        byte[] signature = generator.SignData(tbsCertificate, hash);
        writer.Reset();
        using (writer.PushSequence())
        {
            writer.WriteEncodedValue(tbsCertificate);
            writer.WriteEncodedValue(signatureAlgorithm);
            writer.WriteBitString(signature);
        }

        // The name as X509Certificate2.Subject prints it: decoded from the octets. subject.Name may be the string the object was
        // made from, which can differ in quoting and spacing from the decoded form the store has always recorded.
        string subjectText = new X500DistinguishedName(subject.RawData).Name;
        return new IssuedCertificate(writer.Encode(), Convert.ToHexString(serial), subjectText, issuer.Subject,
            WholeSeconds(notBefore), WholeSeconds(notAfter), Convert.ToHexString(SHA256.HashData(subjectPublicKeyInfo)));
    }

    private static readonly Asn1Tag ExplicitVersion = new(TagClass.ContextSpecific, 0, isConstructed: true);
    private static readonly Asn1Tag ExplicitExtensions = new(TagClass.ContextSpecific, 3, isConstructed: true);

    /// <summary>
    /// The serial's content octets as CertificateRequest writes them, read as an unsigned big-endian number: leading zero octets
    /// dropped while the next octet keeps the value positive, and a zero octet put in front of a first octet with its top bit set.
    /// </summary>
    private static ReadOnlySpan<byte> SerialContent(byte[] serialNumber)
    {
        if (serialNumber[0] >= 0x80)
        {
            byte[] positive = new byte[serialNumber.Length + 1];
            serialNumber.CopyTo(positive, 1);
            return positive;
        }

        int leadingZeros = 0;
        while (leadingZeros < serialNumber.Length - 1 && serialNumber[leadingZeros] == 0 && serialNumber[leadingZeros + 1] < 0x80)
        {
            leadingZeros++;
        }

        return serialNumber.AsSpan(leadingZeros);
    }

    /// <summary>RFC 5280 section 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050 on; both in UTC and whole seconds.</summary>
    private static void WriteTime(AsnWriter writer, DateTimeOffset time)
    {
        DateTimeOffset utc = time.ToUniversalTime();
        if (utc.Year is >= 1950 and < 2050)
        {
            writer.WriteUtcTime(utc, 2049);
        }
        else
        {
            writer.WriteGeneralizedTime(utc, omitFractionalSeconds: true);
        }
    }

    private static DateTimeOffset WholeSeconds(DateTimeOffset time) => new(time.UtcTicks - (time.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);

    /// <summary>AKI from the issuer's SKI, or from its key (RFC 5280 section 4.2.1.2 method 1) when an operator's CA lacks an SKI.</summary>
    internal static X509AuthorityKeyIdentifierExtension AuthorityKeyIdentifierFor(X509Certificate2 issuer)
    {
        X509SubjectKeyIdentifierExtension ski = issuer.Extensions.OfType<X509SubjectKeyIdentifierExtension>().FirstOrDefault()
            ?? new X509SubjectKeyIdentifierExtension(issuer.PublicKey, critical: false);
        return X509AuthorityKeyIdentifierExtension.CreateFromSubjectKeyIdentifier(ski);
    }

    /// <summary>The SHA-256 of the SubjectPublicKeyInfo DER, upper-case hex: the store's public-key fingerprint.</summary>
    internal static string PublicKeyHash(PublicKey publicKey) => Convert.ToHexString(SHA256.HashData(publicKey.ExportSubjectPublicKeyInfo()));
}
