using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Text;

namespace CoapEnroll.Testing;

/// <summary>One request of the <see cref="CsrCorpus"/>: what it is, its DER, and the refusal it must get.</summary>
/// <param name="Name">What is wrong or unusual about it.</param>
/// <param name="Der">The request as sent.</param>
/// <param name="Reason">The RejectionReason name it is refused with.</param>
/// <param name="Detail">A fragment of the refusal's text.</param>
public sealed record CsrCase(string Name, byte[] Der, string Reason, string Detail)
{
    public override string ToString() => Name;
}

/// <summary>
/// Every kind of malformed or unusual PKCS#10 request the tests can build: broken DER, unknown and unsupported algorithms and
/// keys, every way a subject string can be wrong, odd extension requests. All but <see cref="Accepted"/> are refusals; none may
/// end in an internal error. Subjects name the demo device (CN=demo-device-1) wherever the subject is not the point, so the
/// requester's name is never the reason. The requests signed by a key are signed correctly unless the signature is the point.
/// </summary>
public static class CsrCorpus
{
    public const string DeviceName = "demo-device-1";

    private const string EcPublicKey = "1.2.840.10045.2.1";
    private const string P256 = "1.2.840.10045.3.1.7";
    private const string RsaEncryption = "1.2.840.113549.1.1.1";
    private const string RsaPss = "1.2.840.113549.1.1.10";
    private const string SubjectAltName = "2.5.29.17";
    private const string KeyUsage = "2.5.29.15";

    private static readonly byte[] s_null = [0x05, 0x00];

    /// <summary>The refusals. Ed25519, Ed448, DSA and explicit-parameter keys come from openssl, run in <paramref name="scratch"/>.</summary>
    public static async Task<IReadOnlyList<CsrCase>> RefusedAsync(string scratch)
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var cases = new List<CsrCase>();
        byte[] good = new Pkcs10Builder(key).Build();

        void Add(string name, string reason, string detail, byte[] der) => cases.Add(new CsrCase(name, der, reason, detail));
        byte[] With(Action<Pkcs10Builder> change)
        {
            var builder = new Pkcs10Builder(key);
            change(builder);
            return builder.Build();
        }

        byte[] Cn(UniversalTagNumber tag, byte[] value) => With(b => b.Subject = Pkcs10Builder.Name((Pkcs10Builder.CommonName, tag, value)));
        byte[] Utf8Cn(string value) => Cn(UniversalTagNumber.UTF8String, Encoding.UTF8.GetBytes(value));

        // ---- DER that is not a CertificationRequest ----
        Add("outer SET instead of SEQUENCE", "MalformedRequest", "cannot be decoded", [0x31, .. good[1..]]);
        Add("truncated", "MalformedRequest", "cannot be decoded", good[..^7]);
        Add("outer length longer than the data", "MalformedRequest", "cannot be decoded", Relength(good, +1));
        Add("outer length shorter than the data", "MalformedRequest", "", Relength(good, -1));
        Add("BER indefinite length", "MalformedRequest", "cannot be decoded", [0x30, 0x80, .. Content(good), 0x00, 0x00]);
        Add("trailing data", "MalformedRequest", "", [.. good, 0x00, 0x00]);
        Add("zero bytes", "MalformedRequest", "cannot be decoded", new byte[200]);
        Add("version 1", "MalformedRequest", "", With(b => b.Version = 1));
        Add("version -1", "MalformedRequest", "", With(b => b.Version = -1));
        Add("subject a SET, not a Name", "MalformedRequest", "", With(b => b.Subject = [0x31, 0x00]));
        Add("attributes missing", "MalformedRequest", "cannot be decoded", WithoutAttributes(key));
        Add("signature BIT STRING with unused bits", "MalformedRequest", "cannot be decoded", With(b => b.UnusedBits = 3));
        Add("signature algorithm not an OID", "MalformedRequest", "", With(b => b.SignatureAlgorithm = [0x30, 0x03, 0x02, 0x01, 0x05]));
        Add("ECDSA signature algorithm with NULL parameters", "MalformedRequest", "RFC 5758",
            With(b => b.SignatureAlgorithm = Pkcs10Builder.AlgorithmIdentifier(Pkcs10Builder.EcdsaWithSha256, s_null)));
        Add("extensionRequest value not Extensions", "MalformedRequest", "", With(b => b.Attributes.Add(Pkcs10Builder.Attribute(Pkcs10Builder.ExtensionRequest, [0x02, 0x01, 0x07]))));
        Add("extension value not DER", "MalformedRequest", "subjectAltName",
            With(b => b.Attributes.Add(Pkcs10Builder.ExtensionRequestAttribute((SubjectAltName, false, [0x30, 0x05, 0x82, 0x01])))));
        Add("attribute with no value", "MalformedRequest", "", With(b => b.Attributes.Add(Pkcs10Builder.Attribute("1.2.3.4"))));

        // ---- signature algorithms ----
        Add("unknown signature algorithm", "UnsupportedAlgorithm", "1.2.3.4", With(b => b.SignatureAlgorithm = Pkcs10Builder.AlgorithmIdentifier("1.2.3.4")));
        Add("md5WithRSAEncryption", "UnsupportedAlgorithm", "md5WithRSAEncryption", Rsa(2048, b => b.SignatureAlgorithm = Pkcs10Builder.AlgorithmIdentifier("1.2.840.113549.1.1.4", s_null)));
        Add("ecdsa-with-SHA224", "UnsupportedAlgorithm", "ecdsa-with-SHA224", With(b => b.SignatureAlgorithm = Pkcs10Builder.AlgorithmIdentifier("1.2.840.10045.4.3.1")));
        Add("RSASSA-PSS without parameters", "MalformedRequest", "RFC 4055", Rsa(2048, b => b.SignatureAlgorithm = Pkcs10Builder.AlgorithmIdentifier(RsaPss)));
        Add("RSASSA-PSS parameters not a SEQUENCE", "MalformedRequest", "", Rsa(2048, b => b.SignatureAlgorithm = Pkcs10Builder.AlgorithmIdentifier(RsaPss, s_null)));
        Add("RSASSA-PSS SHA-256 with salt 0", "UnsupportedAlgorithm", "salt length 0", Rsa(2048, b => b.SignatureAlgorithm = PssIdentifier("2.16.840.1.101.3.4.2.1", "2.16.840.1.101.3.4.2.1", 0)));
        Add("RSASSA-PSS SHA-256 with MGF1-SHA-1", "UnsupportedAlgorithm", "MGF1-SHA-1", Rsa(2048, b => b.SignatureAlgorithm = PssIdentifier("2.16.840.1.101.3.4.2.1", "1.3.14.3.2.26", 32)));
        Add("RSASSA-PSS with SHA-224", "UnsupportedAlgorithm", "2.16.840.1.101.3.4.2.4", Rsa(2048, b => b.SignatureAlgorithm = PssIdentifier("2.16.840.1.101.3.4.2.4", "2.16.840.1.101.3.4.2.4", 28)));
        Add("RSASSA-PSS trailerField 2", "MalformedRequest", "trailerField", Rsa(2048, b => b.SignatureAlgorithm = PssIdentifier("2.16.840.1.101.3.4.2.1", "2.16.840.1.101.3.4.2.1", 32, trailer: 2)));
        Add("ecdsa-with-SHA1", "UnsupportedAlgorithm", "SHA-1", With(b =>
        {
            b.SignatureAlgorithm = Pkcs10Builder.AlgorithmIdentifier("1.2.840.10045.4.1");
            b.Hash = HashAlgorithmName.SHA1;
        }));
        Add("sha1WithRSAEncryption", "UnsupportedAlgorithm", "SHA-1", Rsa(2048, b => b.SignatureAlgorithm = Pkcs10Builder.AlgorithmIdentifier("1.2.840.113549.1.1.5", s_null), HashAlgorithmName.SHA1));
        Add("Ed25519 (openssl)", "UnsupportedKeyType", "Ed25519 (1.3.101.112) is not supported", await OpenSslCsrAsync(scratch, "ed25519", ["-newkey", "ed25519"]));
        Add("Ed448 (openssl)", "UnsupportedKeyType", "Ed448", await OpenSslCsrAsync(scratch, "ed448", ["-newkey", "ed448"]));
        Add("DSA (openssl)", "UnsupportedKeyType", "DSA", await OpenSslCsrAsync(scratch, "dsa", ["-newkey", "dsa:" + await DsaParametersAsync(scratch)]));

        // ---- keys ----
        Add("X25519 key", "UnsupportedKeyType", "X25519 (1.3.101.110)",
            With(b => b.SubjectPublicKeyInfo = Pkcs10Builder.PublicKeyInfo(Pkcs10Builder.AlgorithmIdentifier("1.3.101.110"), RandomNumberGenerator.GetBytes(32))));
        Add("Ed25519 key with an ECDSA signature", "UnsupportedKeyType", "1.3.101.112",
            With(b => b.SubjectPublicKeyInfo = Pkcs10Builder.PublicKeyInfo(Pkcs10Builder.AlgorithmIdentifier("1.3.101.112"), RandomNumberGenerator.GetBytes(32))));
        Add("unknown curve", "UnsupportedKeyType", "1.2.3.4.5", With(b => b.SubjectPublicKeyInfo = EcKeyInfo(Oid("1.2.3.4.5"), key.ExportParameters(false).Q)));
        Add("secp256k1", "UnsupportedKeyType", "1.3.132.0.10", OtherCurve(ECCurve.CreateFromFriendlyName("secP256k1")));
        Add("brainpoolP256r1", "UnsupportedKeyType", "1.3.36.3.3.2.8.1.1.7", OtherCurve(ECCurve.NamedCurves.brainpoolP256r1));
        Add("implicitCurve (NULL parameters)", "UnsupportedKeyType", "named curve", With(b => b.SubjectPublicKeyInfo = EcKeyInfo(s_null, key.ExportParameters(false).Q)));
        Add("EC key without parameters", "UnsupportedKeyType", "named curve",
            With(b => b.SubjectPublicKeyInfo = Pkcs10Builder.PublicKeyInfo(Pkcs10Builder.AlgorithmIdentifier(EcPublicKey), Uncompressed(key.ExportParameters(false).Q))));
        Add("explicit curve parameters (openssl)", "UnsupportedKeyType", "named curve", await OpenSslCsrAsync(scratch, "explicit", ["-key", await ExplicitKeyAsync(scratch)]));
        Add("hybrid point form 0x06", "UnsupportedKeyType", "0x06", With(b => b.SubjectPublicKeyInfo = EcKeyInfo(Oid(P256), [0x06, .. Uncompressed(key.ExportParameters(false).Q)[1..]])));
        Add("point at infinity", "UnsupportedKeyType", "0x00", With(b => b.SubjectPublicKeyInfo = EcKeyInfo(Oid(P256), [0x00])));
        Add("uncompressed point of the wrong length", "KeyNotAllowed", "wrong length", With(b => b.SubjectPublicKeyInfo = EcKeyInfo(Oid(P256), Uncompressed(key.ExportParameters(false).Q)[..^1])));
        Add("uncompressed point not on the curve", "KeyNotAllowed", "invalid", With(b =>
        {
            byte[] point = Uncompressed(key.ExportParameters(false).Q);
            point[^1] ^= 0x01;
            b.SubjectPublicKeyInfo = EcKeyInfo(Oid(P256), point);
        }));
        Add("compressed point not on the curve", "KeyNotAllowed", "not on the curve", With(b => b.SubjectPublicKeyInfo = EcKeyInfo(Oid(P256), [0x02, .. NotAnXCoordinate()])));
        Add("compressed point of the wrong length", "KeyNotAllowed", "wrong length", With(b => b.SubjectPublicKeyInfo = EcKeyInfo(Oid(P256), [0x03, .. new byte[31]])));
        Add("RSA 1024", "KeyTooWeak", "1024", Rsa(1024, _ => { }));
        Add("RSA key bits not an RSAPublicKey", "MalformedRequest", "RSA key",
            Rsa(2048, b => b.SubjectPublicKeyInfo = Pkcs10Builder.PublicKeyInfo(Pkcs10Builder.AlgorithmIdentifier(RsaEncryption, s_null), [0x30, 0x03, 0x02, 0x01, 0x03])));
        Add("RSA key bits not an RSAPublicKey, ECDSA signature", "MalformedRequest", "RSA key",
            With(b => b.SubjectPublicKeyInfo = Pkcs10Builder.PublicKeyInfo(Pkcs10Builder.AlgorithmIdentifier(RsaEncryption, s_null), [0x30, 0x03, 0x02, 0x01, 0x03])));
        Add("compressed point not on the curve, RSA signature", "KeyNotAllowed", "not on the curve", Rsa(2048, b => b.SubjectPublicKeyInfo = EcKeyInfo(Oid(P256), [0x02, .. NotAnXCoordinate()])));
        Add("Ed25519 key, unknown signature algorithm", "UnsupportedKeyType", "Ed25519", With(b =>
        {
            b.SubjectPublicKeyInfo = Pkcs10Builder.PublicKeyInfo(Pkcs10Builder.AlgorithmIdentifier("1.3.101.112"), RandomNumberGenerator.GetBytes(32));
            b.SignatureAlgorithm = Pkcs10Builder.AlgorithmIdentifier("1.2.3.4");
        }));
        Add("RSA exponent 1", "KeyNotAllowed", "exponent", RsaWithExponent([0x01]));
        Add("RSA even exponent", "KeyNotAllowed", "exponent", RsaWithExponent([0x01, 0x00, 0x00]));
        Add("ECDSA signature with an RSA key", "BadSignature", "does not match", Rsa(2048, b => b.SignatureAlgorithm = Pkcs10Builder.AlgorithmIdentifier(Pkcs10Builder.EcdsaWithSha256)));

        // ---- signatures ----
        Add("signature of garbage", "BadSignature", "does not verify", With(b => b.Signature = RandomNumberGenerator.GetBytes(70)));
        Add("empty signature", "BadSignature", "does not verify", With(b => b.Signature = []));
        Add("signature by another key", "BadSignature", "does not verify", With(b =>
        {
            using ECDsa other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            b.Signature = other.SignData(b.Info(), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        }));

        // ---- subject strings ----
        Add("empty subject", "SubjectNotAllowed", "subject is empty", With(b => b.Subject = [0x30, 0x00]));
        Add("NUL in the CN", "SubjectNotAllowed", "U+0000", Utf8Cn(DeviceName + "\0evil"));
        Add("newline in the CN", "SubjectNotAllowed", "U+000A", Utf8Cn(DeviceName + "\nO=evil"));
        Add("tab in the CN", "SubjectNotAllowed", "U+0009", Utf8Cn(DeviceName + "\t"));
        Add("DEL in the CN", "SubjectNotAllowed", "U+007F", Utf8Cn(DeviceName + "\u007F"));
        Add("C1 NEL in the CN", "SubjectNotAllowed", "U+0085", Utf8Cn(DeviceName + "\u0085"));
        Add("right-to-left override in the CN", "SubjectNotAllowed", "U+202E", Utf8Cn("\u202E1-ecived-omed"));
        Add("CN invalid UTF-8", "MalformedRequest", "not valid UTF-8", Cn(UniversalTagNumber.UTF8String, [.. "demo"u8, 0xC3, 0x28]));
        Add("CN overlong UTF-8", "MalformedRequest", "not valid UTF-8", Cn(UniversalTagNumber.UTF8String, [.. "demo"u8, 0xC0, 0xAF]));
        Add("CN UTF-8 surrogate", "MalformedRequest", "not valid UTF-8", Cn(UniversalTagNumber.UTF8String, [.. "demo"u8, 0xED, 0xA0, 0x80]));
        Add("CN truncated UTF-8", "MalformedRequest", "not valid UTF-8", Cn(UniversalTagNumber.UTF8String, [.. "demo"u8, 0xE2, 0x82]));
        Add("PrintableString with @", "MalformedRequest", "'@'", Cn(UniversalTagNumber.PrintableString, "demo@device"u8.ToArray()));
        Add("PrintableString with *", "MalformedRequest", "'*'", Cn(UniversalTagNumber.PrintableString, "*.device"u8.ToArray()));
        Add("PrintableString with NUL", "MalformedRequest", "0x00", Cn(UniversalTagNumber.PrintableString, [.. "demo"u8, 0x00]));
        Add("PrintableString with a non-ASCII octet", "MalformedRequest", "0xE9", Cn(UniversalTagNumber.PrintableString, [.. "demo"u8, 0xE9]));
        Add("BMPString CN", "SubjectNotAllowed", "BMPString", Cn(UniversalTagNumber.BMPString, Encoding.BigEndianUnicode.GetBytes(DeviceName)));
        Add("BMPString of odd length", "SubjectNotAllowed", "BMPString", Cn(UniversalTagNumber.BMPString, [0x00, 0x41, 0x00]));
        Add("TeletexString CN", "SubjectNotAllowed", "TeletexString", Cn(UniversalTagNumber.T61String, Encoding.ASCII.GetBytes(DeviceName)));
        Add("UniversalString CN", "SubjectNotAllowed", "UniversalString", Cn(UniversalTagNumber.UniversalString, Encoding.UTF32.GetBytes(DeviceName).Chunk(4).SelectMany(c => c.Reverse()).ToArray()));
        Add("VisibleString CN", "SubjectNotAllowed", "VisibleString", Cn(UniversalTagNumber.VisibleString, Encoding.ASCII.GetBytes(DeviceName)));
        Add("IA5String CN", "SubjectNotAllowed", "IA5String", Cn(UniversalTagNumber.IA5String, Encoding.ASCII.GetBytes(DeviceName)));
        Add("OCTET STRING CN", "SubjectNotAllowed", "OctetString", Cn(UniversalTagNumber.OctetString, Encoding.ASCII.GetBytes(DeviceName)));
        Add("INTEGER CN", "SubjectNotAllowed", "Integer", Cn(UniversalTagNumber.Integer, [0x01]));
        Add("constructed CN", "SubjectNotAllowed", "constructed", With(b => b.Subject = NameOfRawValue(Pkcs10Builder.CommonName, [0x30, 0x03, 0x0C, 0x01, 0x41])));
        Add("context-tagged CN", "SubjectNotAllowed", "ContextSpecific", With(b => b.Subject = NameOfRawValue(Pkcs10Builder.CommonName, [0x80, 0x01, 0x41])));
        Add("empty CN", "SubjectNotAllowed", "is empty", Utf8Cn(""));
        Add("CN of 65 characters", "SubjectNotAllowed", "longer than 64", Utf8Cn(new string('a', 65)));
        Add("CN of 10000 characters", "SubjectNotAllowed", "longer than 64", Utf8Cn(new string('a', 10_000)));
        Add("two CNs", "SubjectNotAllowed", "more than one CN", With(b => b.Subject = Pkcs10Builder.Name(
            (Pkcs10Builder.CommonName, UniversalTagNumber.UTF8String, Encoding.UTF8.GetBytes(DeviceName)),
            (Pkcs10Builder.CommonName, UniversalTagNumber.UTF8String, "other-device"u8.ToArray()))));
        Add("two identical CNs", "SubjectNotAllowed", "more than one CN", With(b => b.Subject = Pkcs10Builder.Name(
            (Pkcs10Builder.CommonName, UniversalTagNumber.UTF8String, Encoding.UTF8.GetBytes(DeviceName)),
            (Pkcs10Builder.CommonName, UniversalTagNumber.PrintableString, Encoding.UTF8.GetBytes(DeviceName)))));
        Add("two serialNumbers", "SubjectNotAllowed", "serialNumber", With(b => b.Subject = Pkcs10Builder.Name(
            (Pkcs10Builder.SerialNumber, UniversalTagNumber.PrintableString, "DEMO-0001"u8.ToArray()),
            (Pkcs10Builder.SerialNumber, UniversalTagNumber.PrintableString, "DEMO-0002"u8.ToArray()),
            (Pkcs10Builder.CommonName, UniversalTagNumber.UTF8String, Encoding.UTF8.GetBytes(DeviceName)))));
        Add("two O", "SubjectNotAllowed", "appears more than once", With(b => b.Subject = Pkcs10Builder.Name(
            ("2.5.4.10", UniversalTagNumber.UTF8String, "A"u8.ToArray()), ("2.5.4.10", UniversalTagNumber.UTF8String, "B"u8.ToArray()),
            (Pkcs10Builder.CommonName, UniversalTagNumber.UTF8String, Encoding.UTF8.GetBytes(DeviceName)))));
        Add("multi-valued RDN", "SubjectNotAllowed", "multi-valued", With(b => b.Subject = MultiValued()));
        Add("empty RDN", "MalformedRequest", "subject cannot be decoded", With(b => b.Subject = [0x30, 0x02, 0x31, 0x00]));
        Add("attribute type not an OID", "MalformedRequest", "subject cannot be decoded", With(b => b.Subject = [0x30, 0x0A, 0x31, 0x08, 0x30, 0x06, 0x02, 0x01, 0x03, 0x0C, 0x01, 0x41]));
        Add("17 RDNs", "SubjectNotAllowed", "more than 16 RDNs", With(b => b.Subject = Pkcs10Builder.Name(
            [.. Enumerable.Range(0, 16).Select(i => ("2.5.4.11", UniversalTagNumber.UTF8String, Encoding.UTF8.GetBytes($"unit {i}"))),
                (Pkcs10Builder.CommonName, UniversalTagNumber.UTF8String, Encoding.UTF8.GetBytes(DeviceName))])));
        Add("countryName as UTF8String", "SubjectNotAllowed", "only PrintableString", With(b => b.Subject = WithDevice(("2.5.4.6", UniversalTagNumber.UTF8String, "DE"u8.ToArray()))));
        Add("countryName of three letters", "SubjectNotAllowed", "longer than 2", With(b => b.Subject = WithDevice(("2.5.4.6", UniversalTagNumber.PrintableString, "DEU"u8.ToArray()))));
        Add("serialNumber as UTF8String", "SubjectNotAllowed", "only PrintableString", With(b => b.Subject = WithDevice((Pkcs10Builder.SerialNumber, UniversalTagNumber.UTF8String, "DEMO-0001"u8.ToArray()))));
        Add("domainComponent as UTF8String", "SubjectNotAllowed", "only IA5String", With(b => b.Subject = WithDevice(("0.9.2342.19200300.100.1.25", UniversalTagNumber.UTF8String, "example"u8.ToArray()))));
        Add("domainComponent IA5String with 0x80", "MalformedRequest", "0x80", With(b => b.Subject = WithDevice(("0.9.2342.19200300.100.1.25", UniversalTagNumber.IA5String, [0x65, 0x80]))));
        Add("NUL in an O", "SubjectNotAllowed", "U+0000", With(b => b.Subject = WithDevice(("2.5.4.10", UniversalTagNumber.UTF8String, "Acme\0"u8.ToArray()))));

        // ---- requested extensions ----
        Add("two subjectAltName extensions", "MalformedRequest", "more than once", With(b => b.Attributes.Add(Pkcs10Builder.ExtensionRequestAttribute(
            (SubjectAltName, false, Pkcs10Builder.DnsNames("a.example")), (SubjectAltName, false, Pkcs10Builder.DnsNames("b.example"))))));
        Add("two keyUsage extensions", "MalformedRequest", "more than once", With(b => b.Attributes.Add(Pkcs10Builder.ExtensionRequestAttribute(
            (KeyUsage, true, [0x03, 0x02, 0x07, 0x80]), (KeyUsage, false, [0x03, 0x02, 0x05, 0x20])))));
        Add("two extensionRequest attributes", "MalformedRequest", "", With(b =>
        {
            b.Attributes.Add(Pkcs10Builder.ExtensionRequestAttribute((SubjectAltName, false, Pkcs10Builder.DnsNames("a.example"))));
            b.Attributes.Add(Pkcs10Builder.ExtensionRequestAttribute((KeyUsage, false, [0x03, 0x02, 0x07, 0x80])));
        }));
        Add("critical unknown extension", "UnsatisfiableRequest", "1.2.3.4.5.6", With(b => b.Attributes.Add(Pkcs10Builder.ExtensionRequestAttribute(("1.2.3.4.5.6", true, [0x05, 0x00])))));
        Add("dNSName with a NUL", "SubjectAltNameNotAllowed", "\\x00", With(b => b.Attributes.Add(Pkcs10Builder.ExtensionRequestAttribute((SubjectAltName, false, Pkcs10Builder.DnsNames("a\0.example"))))));
        Add("wildcard dNSName", "SubjectAltNameNotAllowed", "*.example", With(b => b.Attributes.Add(Pkcs10Builder.ExtensionRequestAttribute((SubjectAltName, false, Pkcs10Builder.DnsNames("*.example"))))));
        Add("URI with a space", "SubjectAltNameNotAllowed", "not an absolute URI", With(b => b.Attributes.Add(Pkcs10Builder.ExtensionRequestAttribute((SubjectAltName, false, UriName("https://a.example/ b"))))));
        Add("empty subjectAltName", "MalformedRequest", "empty subjectAltName", With(b => b.Attributes.Add(Pkcs10Builder.ExtensionRequestAttribute((SubjectAltName, false, [0x30, 0x00])))));

        return cases;
    }

    /// <summary>Unusual requests that are fine and must be issued: a compressed P-256 point, RSASSA-PSS as the platform verifies it, odd but valid strings, a large unknown attribute, a requested critical keyUsage (the profile sets its own).</summary>
    public static IReadOnlyList<(string Name, byte[] Der)> Accepted()
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        ECParameters parameters = key.ExportParameters(false);
        byte[] compressed = [(byte)(0x02 | (parameters.Q.Y![^1] & 1)), .. parameters.Q.X!];
        using RSA rsa = RSA.Create(2048);
        return
        [
            ("compressed P-256 point", new Pkcs10Builder(key) { SubjectPublicKeyInfo = EcKeyInfo(Oid(P256), compressed) }.Build()),
            ("RSASSA-PSS SHA-256, MGF1-SHA-256, salt 32", new Pkcs10Builder(key)
            {
                SubjectPublicKeyInfo = rsa.ExportSubjectPublicKeyInfo(),
                SignatureAlgorithm = PssIdentifier("2.16.840.1.101.3.4.2.1", "2.16.840.1.101.3.4.2.1", 32),
                Signer = info => rsa.SignData(info, HashAlgorithmName.SHA256, RSASignaturePadding.Pss),
            }.Build()),
            ("PrintableString punctuation in O, UTF-8 letters in OU, two OUs", new Pkcs10Builder(key)
            {
                Subject = WithDevice(("2.5.4.10", UniversalTagNumber.PrintableString, "A'b (c)+,-./:=? z"u8.ToArray()),
                    ("2.5.4.11", UniversalTagNumber.UTF8String, "Gerät Straße 東京"u8.ToArray()), ("2.5.4.11", UniversalTagNumber.UTF8String, "second"u8.ToArray())),
            }.Build()),
            ("large unknown attribute", Large(key)),
            ("critical keyUsage requested", With(key, b => b.Attributes.Add(Pkcs10Builder.ExtensionRequestAttribute((KeyUsage, true, [0x03, 0x02, 0x07, 0x80]))))),
        ];
    }

    private static byte[] With(ECDsa key, Action<Pkcs10Builder> change)
    {
        var builder = new Pkcs10Builder(key);
        change(builder);
        return builder.Build();
    }

    private static byte[] Large(ECDsa key)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        writer.WriteOctetString(new byte[12_000]);
        return With(key, b => b.Attributes.Add(Pkcs10Builder.Attribute("1.3.6.1.4.1.55555.1", writer.Encode())));
    }

    private static byte[] Rsa(int bits, Action<Pkcs10Builder> change, HashAlgorithmName? hash = null)
    {
        using ECDsa unused = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using RSA rsa = RSA.Create(bits);
        var builder = new Pkcs10Builder(unused)
        {
            SubjectPublicKeyInfo = rsa.ExportSubjectPublicKeyInfo(),
            SignatureAlgorithm = Pkcs10Builder.AlgorithmIdentifier("1.2.840.113549.1.1.11", s_null),
        };
        change(builder);
        builder.Signer ??= info => rsa.SignData(info, hash ?? HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return builder.Build();
    }

    // A 2048-bit modulus with the given exponent and an arbitrary signature: what the key is, not the signature, is refused.
    private static byte[] RsaWithExponent(byte[] exponent)
    {
        using RSA rsa = RSA.Create(2048);
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteIntegerUnsigned(rsa.ExportParameters(false).Modulus);
            writer.WriteIntegerUnsigned(exponent);
        }

        using ECDsa unused = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return new Pkcs10Builder(unused)
        {
            SubjectPublicKeyInfo = Pkcs10Builder.PublicKeyInfo(Pkcs10Builder.AlgorithmIdentifier(RsaEncryption, s_null), writer.Encode()),
            SignatureAlgorithm = Pkcs10Builder.AlgorithmIdentifier("1.2.840.113549.1.1.11", s_null),
            Signature = RandomNumberGenerator.GetBytes(256),
        }.Build();
    }

    private static byte[] OtherCurve(ECCurve curve)
    {
        using ECDsa other = ECDsa.Create(curve);
        return new Pkcs10Builder(other).Build();
    }

    private static byte[] PssIdentifier(string hash, string mgfHash, int salt, int trailer = 1)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            using (writer.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true)))
            {
                writer.WriteEncodedValue(Pkcs10Builder.AlgorithmIdentifier(hash, s_null));
            }

            using (writer.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 1, isConstructed: true)))
            {
                writer.WriteEncodedValue(Pkcs10Builder.AlgorithmIdentifier("1.2.840.113549.1.1.8", Pkcs10Builder.AlgorithmIdentifier(mgfHash, s_null)));
            }

            using (writer.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 2, isConstructed: true)))
            {
                writer.WriteInteger(salt);
            }

            if (trailer != 1)
            {
                using (writer.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 3, isConstructed: true)))
                {
                    writer.WriteInteger(trailer);
                }
            }
        }

        return Pkcs10Builder.AlgorithmIdentifier(RsaPss, writer.Encode());
    }

    private static byte[] Oid(string oid)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        writer.WriteObjectIdentifier(oid);
        return writer.Encode();
    }

    private static byte[] Uncompressed(ECPoint q) => [0x04, .. q.X!, .. q.Y!];

    private static byte[] EcKeyInfo(byte[] parameters, ECPoint q) => EcKeyInfo(parameters, Uncompressed(q));

    private static byte[] EcKeyInfo(byte[] parameters, byte[] point) =>
        Pkcs10Builder.PublicKeyInfo(Pkcs10Builder.AlgorithmIdentifier(EcPublicKey, parameters), point);

    // x = 1 on P-256: x³ - 3x + b is not a square mod p, so no point has this x.
    private static byte[] NotAnXCoordinate() => [.. new byte[31], 0x01];

    private static byte[] WithDevice(params (string Type, UniversalTagNumber Tag, byte[] Value)[] attributes) =>
        Pkcs10Builder.Name([.. attributes, (Pkcs10Builder.CommonName, UniversalTagNumber.UTF8String, Encoding.UTF8.GetBytes(DeviceName))]);

    private static byte[] NameOfRawValue(string type, byte[] value)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        using (writer.PushSetOf())
        using (writer.PushSequence())
        {
            writer.WriteObjectIdentifier(type);
            writer.WriteEncodedValue(value);
        }

        return writer.Encode();
    }

    private static byte[] MultiValued()
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        using (writer.PushSetOf())
        {
            writer.WriteEncodedValue(Pkcs10Builder.AttributeTypeAndValue(Pkcs10Builder.CommonName, UniversalTagNumber.UTF8String, Encoding.UTF8.GetBytes(DeviceName)));
            writer.WriteEncodedValue(Pkcs10Builder.AttributeTypeAndValue(Pkcs10Builder.SerialNumber, UniversalTagNumber.PrintableString, "DEMO-0001"u8.ToArray()));
        }

        return writer.Encode();
    }

    private static byte[] UriName(string uri)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteCharacterString(UniversalTagNumber.IA5String, uri, new Asn1Tag(TagClass.ContextSpecific, 6));
        }

        return writer.Encode();
    }

    // A CertificationRequestInfo without its [0] attributes (they are not OPTIONAL, RFC 2986 section 4.1).
    private static byte[] WithoutAttributes(ECDsa key)
    {
        var builder = new Pkcs10Builder(key);
        var reader = new AsnReader(builder.Info(), AsnEncodingRules.DER).ReadSequence();
        var info = new AsnWriter(AsnEncodingRules.DER);
        using (info.PushSequence())
        {
            info.WriteEncodedValue(reader.ReadEncodedValue().Span);
            info.WriteEncodedValue(reader.ReadEncodedValue().Span);
            info.WriteEncodedValue(reader.ReadEncodedValue().Span);
        }

        byte[] infoDer = info.Encode();
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteEncodedValue(infoDer);
            writer.WriteEncodedValue(builder.SignatureAlgorithm);
            writer.WriteBitString(key.SignData(infoDer, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
        }

        return writer.Encode();
    }

    // The content octets of a DER SEQUENCE.
    private static byte[] Content(byte[] der)
    {
        AsnDecoder.ReadEncodedValue(der, AsnEncodingRules.DER, out int offset, out int length, out _);
        return der[offset..(offset + length)];
    }

    // The same content with its outer length changed by delta (the long form kept).
    private static byte[] Relength(byte[] der, int delta)
    {
        byte[] content = Content(der);
        int length = content.Length + delta;
        return [0x30, 0x82, (byte)(length >> 8), (byte)length, .. content];
    }

    private static async Task<byte[]> OpenSslCsrAsync(string scratch, string name, string[] keyArguments)
    {
        string csr = Path.Combine(scratch, name + ".csr.der");
        await OpenSsl.RunAsync(scratch, ["req", "-new", .. keyArguments, "-nodes", "-keyout", Path.Combine(scratch, name + ".key"), "-subj", "/CN=" + DeviceName,
            "-outform", "DER", "-out", csr]);
        return await File.ReadAllBytesAsync(csr);
    }

    private static async Task<string> DsaParametersAsync(string scratch)
    {
        string parameters = Path.Combine(scratch, "dsa.param");
        await OpenSsl.RunAsync(scratch, "genpkey", "-genparam", "-algorithm", "DSA", "-pkeyopt", "dsa_paramgen_bits:1024", "-out", parameters);
        return parameters;
    }

    private static async Task<string> ExplicitKeyAsync(string scratch)
    {
        string key = Path.Combine(scratch, "explicit.key");
        await OpenSsl.RunAsync(scratch, "ecparam", "-name", "prime256v1", "-param_enc", "explicit", "-genkey", "-noout", "-out", key);
        return key;
    }
}
