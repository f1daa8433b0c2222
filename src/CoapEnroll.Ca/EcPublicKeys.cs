using System.Formats.Asn1;
using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Ca;

/// <summary>
/// Reads an id-ecPublicKey SubjectPublicKeyInfo (RFC 5480) on the curves this CA certifies, P-256 and P-384, in both point forms
/// RFC 5480 section 2.2 allows: uncompressed (0x04) and compressed (0x02, 0x03, SEC 1 section 2.3.4). The platform imports only
/// uncompressed points; a compressed one is decompressed here, and whoever certifies it certifies the uncompressed form, which
/// every implementation must support (RFC 5480 section 2.2) where the compressed one is optional.
/// </summary>
internal static class EcPublicKeys
{
    public const string P256Oid = "1.2.840.10045.3.1.7";
    public const string P384Oid = "1.3.132.0.34";

    private static readonly Lazy<Curve> s_p256 = new(() => Curve.Of(ECCurve.NamedCurves.nistP256, KeyTypes.EcP256));
    private static readonly Lazy<Curve> s_p384 = new(() => Curve.Of(ECCurve.NamedCurves.nistP384, KeyTypes.EcP384));

    /// <summary>
    /// Imports <paramref name="key"/> (an id-ecPublicKey SubjectPublicKeyInfo); false with the reason and text when its curve or point
    /// form is not supported or the point is not on the curve. The caller owns <paramref name="ecdsa"/>.
    /// </summary>
    public static bool TryImport(PublicKey key, out ECDsa? ecdsa, out KeyTypes type, out bool compressed, out RejectionReason reason, out string detail)
    {
        ecdsa = null;
        type = KeyTypes.None;
        compressed = false;
        reason = RejectionReason.None;
        detail = "";

        // RFC 5480 section 2.1.1: namedCurve only; implicitCurve and specifiedCurve are not allowed.
        string? curveOid = null;
        try
        {
            if (key.EncodedParameters?.RawData is { Length: > 0 } encoded)
            {
                var reader = new AsnReader(encoded, AsnEncodingRules.DER);
                if (reader.PeekTag().HasSameClassAndValue(Asn1Tag.ObjectIdentifier))
                {
                    curveOid = reader.ReadObjectIdentifier();
                    reader.ThrowIfNotEmpty();
                }
            }
        }
        catch (AsnContentException)
        {
            curveOid = null;
        }

        Curve? curve = curveOid switch
        {
            P256Oid => s_p256.Value,
            P384Oid => s_p384.Value,
            _ => null,
        };
        if (curve is null)
        {
            reason = RejectionReason.UnsupportedKeyType;
            detail = curveOid is null
                ? "the EC parameters are not a named curve (RFC 5480 section 2.1.1 allows only namedCurve)"
                : $"EC curve {curveOid} is not supported (P-256, P-384)";
            return false;
        }

        type = curve.Type;
        ReadOnlySpan<byte> point = key.EncodedKeyValue.RawData;
        int size = curve.FieldSize;
        byte[] x;
        byte[] y;
        if (point.Length == 1 + (2 * size) && point[0] == 0x04)
        {
            x = point.Slice(1, size).ToArray();
            y = point.Slice(1 + size, size).ToArray();
        }
        else if (point.Length == 1 + size && point[0] is 0x02 or 0x03)
        {
            compressed = true;
            x = point.Slice(1, size).ToArray();
            if (!curve.TryDecompress(x, odd: point[0] == 0x03, out y))
            {
                reason = RejectionReason.KeyNotAllowed;
                detail = "the compressed EC point is not on the curve";
                return false;
            }
        }
        else if (point.Length > 0 && point[0] is not (0x02 or 0x03 or 0x04))
        {
            reason = RejectionReason.UnsupportedKeyType;
            detail = $"EC point form 0x{point[0]:X2} is not allowed (RFC 5480 section 2.2: 0x04 uncompressed, 0x02 or 0x03 compressed)";
            return false;
        }
        else
        {
            reason = RejectionReason.KeyNotAllowed;
            detail = $"the EC point of {point.Length} octets has the wrong length for {curve.Type}";
            return false;
        }

        try
        {
            // The platform checks that the point lies on the curve.
            ecdsa = ECDsa.Create(new ECParameters { Curve = curve.Named, Q = new ECPoint { X = x, Y = y } });
            return true;
        }
        catch (CryptographicException)
        {
            reason = RejectionReason.KeyNotAllowed;
            detail = "the EC point is invalid";
            return false;
        }
    }

    /// <summary>A short Weierstrass curve y² = x³ + ax + b over GF(p) with p ≡ 3 (mod 4), where a square root is one exponentiation.</summary>
    private sealed class Curve
    {
        private readonly BigInteger _p;
        private readonly BigInteger _a;
        private readonly BigInteger _b;
        private readonly BigInteger _sqrtExponent;

        private Curve(ECCurve named, KeyTypes type, BigInteger p, BigInteger a, BigInteger b, int fieldSize)
        {
            Named = named;
            Type = type;
            _p = p;
            _a = a;
            _b = b;
            _sqrtExponent = (p + 1) / 4;
            FieldSize = fieldSize;
        }

        public ECCurve Named { get; }

        public KeyTypes Type { get; }

        public int FieldSize { get; }

        // The platform knows the curve's constants; asking it avoids copying them here.
        public static Curve Of(ECCurve named, KeyTypes type)
        {
            using ECDsa key = ECDsa.Create(named);
            ECParameters explicitParameters = key.ExportExplicitParameters(includePrivateParameters: false);
            ECCurve curve = explicitParameters.Curve;
            BigInteger p = Unsigned(curve.Prime!);
            if (p % 4 != 3)
            {
                throw new InvalidOperationException($"{named.Oid.FriendlyName}: p is not 3 mod 4");
            }

            return new Curve(named, type, p, Unsigned(curve.A!), Unsigned(curve.B!), curve.Prime!.Length);
        }

        // SEC 1 section 2.3.4: y is the square root of x³ + ax + b with the parity the prefix names.
        public bool TryDecompress(byte[] xBytes, bool odd, out byte[] yBytes)
        {
            yBytes = [];
            BigInteger x = Unsigned(xBytes);
            if (x >= _p)
            {
                return false;
            }

            BigInteger rhs = (BigInteger.ModPow(x, 3, _p) + (_a * x) + _b) % _p;
            BigInteger y = BigInteger.ModPow(rhs, _sqrtExponent, _p);
            if (BigInteger.ModPow(y, 2, _p) != rhs)
            {
                return false;
            }

            if (!y.IsEven != odd)
            {
                if (y.IsZero)
                {
                    return false;
                }

                y = _p - y;
            }

            byte[] value = y.ToByteArray(isUnsigned: true, isBigEndian: true);
            yBytes = new byte[FieldSize];
            value.CopyTo(yBytes, FieldSize - value.Length);
            return true;
        }

        private static BigInteger Unsigned(byte[] bigEndian) => new(bigEndian, isUnsigned: true, isBigEndian: true);
    }
}
