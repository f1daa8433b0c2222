using System.Formats.Asn1;
using System.Numerics;
using System.Security.Cryptography;

namespace CoapEnroll.Dtls.Tests;

public class CryptoTests
{
    private static readonly BigInteger s_n256 = BigInteger.Parse("0FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", System.Globalization.NumberStyles.HexNumber);

    [Fact]
    public void Ecdhe_BothSidesAgree_AndMatchesPlatform()
    {
        using EcdheKeyExchange a = EcdheKeyExchange.Create();
        using EcdheKeyExchange b = EcdheKeyExchange.Create();
        Assert.Equal(65, a.PublicPoint.Length);
        Assert.Equal(0x04, a.PublicPoint[0]);
        byte[] sa = new byte[32];
        byte[] sb = new byte[32];
        Assert.True(a.TryDeriveSharedSecret(b.PublicPoint, sa));
        Assert.True(b.TryDeriveSharedSecret(a.PublicPoint, sb));
        Assert.Equal(sa, sb);
    }

    [Fact]
    public void Ecdhe_RejectsInvalidPoints()
    {
        using EcdheKeyExchange a = EcdheKeyExchange.Create();
        using EcdheKeyExchange b = EcdheKeyExchange.Create();
        byte[] s = new byte[32];
        byte[] offCurve = (byte[])b.PublicPoint.Clone();
        offCurve[64] ^= 1;
        Assert.False(a.TryDeriveSharedSecret(offCurve, s));
        byte[] compressed = [0x02, .. b.PublicPoint.AsSpan(1, 32)];
        Assert.False(a.TryDeriveSharedSecret(compressed, s));
        byte[] badPrefix = (byte[])b.PublicPoint.Clone();
        badPrefix[0] = 0x05;
        Assert.False(a.TryDeriveSharedSecret(badPrefix, s));
        Assert.False(a.TryDeriveSharedSecret(new byte[65] { 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, s));
        Assert.False(a.TryDeriveSharedSecret(b.PublicPoint.AsSpan(0, 64), s));
        Assert.False(a.TryDeriveSharedSecret(a.PublicPoint, s));
        // Coordinates >= p (x = p) are not valid field elements.
        byte[] xIsP = (byte[])b.PublicPoint.Clone();
        Convert.FromHexString("FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF").CopyTo(xIsP, 1);
        Assert.False(a.TryDeriveSharedSecret(xIsP, s));
    }

    [Fact]
    public void ServerKeyExchange_SignVerify()
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] cr = RandomNumberGenerator.GetBytes(32);
        byte[] sr = RandomNumberGenerator.GetBytes(32);
        using EcdheKeyExchange kx = EcdheKeyExchange.Create();
        byte[] parameters = EcdheServerKeyExchange.EncodeParameters(NamedGroup.Secp256r1, kx.PublicPoint);
        byte[] sig = DtlsSignatures.SignServerKeyExchange(key, SignatureScheme.EcdsaSecp256r1Sha256, cr, sr, parameters);
        Assert.True(DtlsSignatures.VerifyServerKeyExchange(key, SignatureScheme.EcdsaSecp256r1Sha256, cr, sr, parameters, sig));
        Assert.False(DtlsSignatures.VerifyServerKeyExchange(key, SignatureScheme.EcdsaSecp256r1Sha256, sr, cr, parameters, sig));
        Assert.False(DtlsSignatures.VerifyServerKeyExchange(key, SignatureScheme.EcdsaSecp384r1Sha384, cr, sr, parameters, sig));
        Assert.False(DtlsSignatures.VerifyServerKeyExchange(key, SignatureScheme.RsaPkcs1Sha256, cr, sr, parameters, sig));
        parameters[^1] ^= 1;
        Assert.False(DtlsSignatures.VerifyServerKeyExchange(key, SignatureScheme.EcdsaSecp256r1Sha256, cr, sr, parameters, sig));
        // The signed data is client_random + server_random + params, verified independently with the platform.
        parameters[^1] ^= 1;
        Assert.True(key.VerifyData((byte[])[.. cr, .. sr, .. parameters], sig, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
    }

    [Fact]
    public void CertificateVerify_SignVerify_P256AndP384()
    {
        byte[] transcript = RandomNumberGenerator.GetBytes(500);
        using ECDsa p256 = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] sig = DtlsSignatures.SignCertificateVerify(p256, SignatureScheme.EcdsaSecp256r1Sha256, transcript);
        Assert.True(DtlsSignatures.VerifyCertificateVerify(p256, SignatureScheme.EcdsaSecp256r1Sha256, transcript, sig));
        Assert.False(DtlsSignatures.VerifyCertificateVerify(p256, SignatureScheme.EcdsaSecp256r1Sha256, transcript.AsSpan(1), sig));
        using ECDsa p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        sig = DtlsSignatures.SignCertificateVerify(p384, SignatureScheme.EcdsaSecp384r1Sha384, transcript);
        Assert.True(DtlsSignatures.VerifyCertificateVerify(p384, SignatureScheme.EcdsaSecp384r1Sha384, transcript, sig));
    }

    private static byte[] Der(BigInteger r, BigInteger s)
    {
        var w = new AsnWriter(AsnEncodingRules.DER);
        using (w.PushSequence())
        {
            w.WriteInteger(r);
            w.WriteInteger(s);
        }

        return w.Encode();
    }

    private static (BigInteger R, BigInteger S) Split(byte[] der)
    {
        AsnReader seq = new AsnReader(der, AsnEncodingRules.DER).ReadSequence();
        return (seq.ReadInteger(), seq.ReadInteger());
    }

    [Fact]
    public void Ecdsa_RejectsOutOfRangeAndMalformed()
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] data = "data"u8.ToArray();
        byte[] good = DtlsSignatures.SignCertificateVerify(key, SignatureScheme.EcdsaSecp256r1Sha256, data);
        (BigInteger r, BigInteger s) = Split(good);
        bool V(byte[] sig) => DtlsSignatures.VerifyCertificateVerify(key, SignatureScheme.EcdsaSecp256r1Sha256, data, sig);
        Assert.True(V(Der(r, s)));
        Assert.False(V(Der(0, s)));
        Assert.False(V(Der(r, 0)));
        Assert.False(V(Der(0, 0)));
        Assert.False(V(Der(s_n256, s)));
        Assert.False(V(Der(r, s_n256)));
        Assert.False(V(Der(r + s_n256, s)));      // congruent mod n: must still be rejected
        Assert.False(V(Der(r, s + s_n256)));
        Assert.False(V(Der(-r, s)));
        Assert.False(V(Der(r, -s)));
        Assert.False(V([.. good, 0]));             // trailing bytes
        Assert.False(V(good[..^1]));               // truncated
        Assert.False(V([]));
        // Non-minimal integer encoding (a redundant leading zero) is not DER.
        byte[] rBytes = r.ToByteArray(isUnsigned: true, isBigEndian: true);
        byte[] sBytes = s.ToByteArray(isUnsigned: true, isBigEndian: true);
        byte[] rField = [0x02, (byte)(rBytes.Length + 2), 0, 0, .. rBytes];
        byte[] sField = [0x02, (byte)(sBytes.Length + 1), 0, .. sBytes];
        Assert.False(V([0x30, (byte)(rField.Length + sField.Length), .. rField, .. sField]));
        // Raw r||s (IEEE P1363) is not accepted where DER is required.
        Assert.False(V(key.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation)));
        Assert.True(DtlsSignatures.IsWellFormedSignature(Der(1, s_n256 - 1), 256));
        Assert.False(DtlsSignatures.IsWellFormedSignature(Der(1, 1), 521));
    }
}
