using System.Formats.Asn1;
using System.Security.Cryptography;
using CoapEnroll.Ca;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;

namespace CoapEnroll.Ca.Pkcs11;

/// <summary>Finding the token, logging in, finding, reading and generating the key: the steps of opening and of reconnecting.</summary>
internal static class Pkcs11Token
{
    // Named curves as CKA_EC_PARAMS holds them (PKCS#11 v2.40 section 2.3.3: DER of the curve's OBJECT IDENTIFIER).
    private const string P256 = "1.2.840.10045.3.1.7";
    private const string P384 = "1.3.132.0.34";
    private const string P521 = "1.3.132.0.35";

    /// <summary>The slot whose token has the configured label, or the configured slot.</summary>
    public static ISlot FindSlot(Pkcs11Module module, Pkcs11KeyOptions options)
    {
        List<ISlot> slots = module.Library.GetSlotList(SlotsType.WithTokenPresent);
        if (options.Slot is { } id)
        {
            return slots.FirstOrDefault(s => s.SlotId == id)
                ?? throw new CaConfigurationException(null, CaConfigurationProblem.TokenUnavailable,
                    $"{module.Path} has no token in slot {id} (slots with a token: {string.Join(", ", slots.Select(s => s.SlotId))})");
        }

        var labels = new List<string>();
        foreach (ISlot slot in slots)
        {
            string label = slot.GetTokenInfo().Label.TrimEnd();
            if (string.Equals(label, options.TokenLabel, StringComparison.Ordinal))
            {
                return slot;
            }

            labels.Add($"'{label}'");
        }

        throw new CaConfigurationException(null, CaConfigurationProblem.TokenUnavailable,
            $"{module.Path} has no token labelled '{options.TokenLabel}' (tokens: {(labels.Count == 0 ? "none" : string.Join(", ", labels))})");
    }

    /// <summary>C_Login as the user. Already logged in (another session of this process did it) counts as success.</summary>
    public static void Login(ISession session, string pin, Pkcs11KeyOptions options)
    {
        try
        {
            session.Login(CKU.CKU_USER, pin);
        }
        catch (Pkcs11Exception ex) when (ex.RV == CKR.CKR_USER_ALREADY_LOGGED_IN)
        {
        }
        catch (Pkcs11Exception ex) when (ex.RV is CKR.CKR_PIN_INCORRECT or CKR.CKR_PIN_INVALID or CKR.CKR_PIN_LEN_RANGE or CKR.CKR_PIN_LOCKED or CKR.CKR_PIN_EXPIRED
            or CKR.CKR_USER_PIN_NOT_INITIALIZED)
        {
            throw new CaConfigurationException(null, CaConfigurationProblem.WrongPin,
                $"{options.TokenDescription} refused the user PIN ({ex.RV}; PIN from {(options.PinFile is { Length: > 0 } file ? file : "$" + options.PinEnvironmentVariable)})", ex);
        }
    }

    /// <summary>The private key with the configured label or id, or null.</summary>
    public static IObjectHandle? FindPrivateKey(ISession session, Pkcs11KeyOptions options)
    {
        List<IObjectHandle> found = session.FindAllObjects([Attribute(CKA.CKA_CLASS, CKO.CKO_PRIVATE_KEY), .. Selector(options)]);
        return found.Count switch
        {
            0 => null,
            1 => found[0],
            _ => throw new CaConfigurationException(null, CaConfigurationProblem.InvalidSetting,
                $"{options.TokenDescription} has {found.Count} private keys with {options.KeyDescription}; name one by {Pkcs11KeyOptions.SectionName}:KeyId"),
        };
    }

    /// <summary>The public half of <paramref name="privateKey"/>: RSA from the private key's own (public) attributes, EC from its public key object.</summary>
    public static AsymmetricAlgorithm ReadPublicKey(ISession session, IObjectHandle privateKey, Pkcs11KeyOptions options)
    {
        List<IObjectAttribute> attributes = session.GetAttributeValue(privateKey, [CKA.CKA_KEY_TYPE, CKA.CKA_ID, CKA.CKA_LABEL, CKA.CKA_SIGN]);
        if (attributes[3].CannotBeRead || !attributes[3].GetValueAsBool())
        {
            throw new CaConfigurationException(null, CaConfigurationProblem.InvalidSetting, $"{options.KeyDescription} on {options.TokenDescription} may not sign (CKA_SIGN is false)");
        }

        var keyType = (CKK)attributes[0].GetValueAsUlong();
        if (keyType == CKK.CKK_RSA)
        {
            List<IObjectAttribute> rsa = session.GetAttributeValue(privateKey, [CKA.CKA_MODULUS, CKA.CKA_PUBLIC_EXPONENT]);
            return RSA.Create(new RSAParameters { Modulus = rsa[0].GetValueAsByteArray(), Exponent = rsa[1].GetValueAsByteArray() });
        }

        if (keyType != CKK.CKK_EC)
        {
            throw new CaConfigurationException(null, CaConfigurationProblem.InvalidSetting, $"{options.KeyDescription} on {options.TokenDescription} is neither EC nor RSA ({keyType})");
        }

        byte[] id = attributes[1].CannotBeRead ? [] : attributes[1].GetValueAsByteArray() ?? [];
        IObjectAttribute match = id.Length > 0 ? Attribute(CKA.CKA_ID, id) : Attribute(CKA.CKA_LABEL, attributes[2].GetValueAsString());
        List<IObjectHandle> publicKeys = session.FindAllObjects([Attribute(CKA.CKA_CLASS, CKO.CKO_PUBLIC_KEY), Attribute(CKA.CKA_KEY_TYPE, CKK.CKK_EC), match]);
        if (publicKeys.Count != 1)
        {
            throw new CaConfigurationException(null, CaConfigurationProblem.KeyMissing,
                $"{options.TokenDescription} has {publicKeys.Count} EC public keys beside {options.KeyDescription} (one with the same CKA_ID is needed to read the public key)");
        }

        List<IObjectAttribute> ec = session.GetAttributeValue(publicKeys[0], [CKA.CKA_EC_PARAMS, CKA.CKA_EC_POINT]);
        ECCurve curve = new AsnReader(ec[0].GetValueAsByteArray(), AsnEncodingRules.DER).ReadObjectIdentifier() switch
        {
            P256 => ECCurve.NamedCurves.nistP256,
            P384 => ECCurve.NamedCurves.nistP384,
            P521 => ECCurve.NamedCurves.nistP521,
            string other => throw new CaConfigurationException(null, CaConfigurationProblem.InvalidSetting,
                $"{options.KeyDescription} on {options.TokenDescription} is on curve {other}, not P-256, P-384 or P-521"),
        };
        byte[] point = ec[1].GetValueAsByteArray();
        int field = FieldLength(curve);
        // CKA_EC_POINT is the DER OCTET STRING of the uncompressed point (X9.62); some modules give the bare point.
        bool bare = point.Length == 1 + (2 * field) && point[0] == 0x04;
        if (!bare)
        {
            point = new AsnReader(point, AsnEncodingRules.DER).ReadOctetString();
        }

        if (point.Length != 1 + (2 * field) || point[0] != 0x04)
        {
            throw new CaConfigurationException(null, CaConfigurationProblem.InvalidSetting, $"the EC point of {options.KeyDescription} is not an uncompressed point of its curve");
        }

        return ECDsa.Create(new ECParameters { Curve = curve, Q = new ECPoint { X = point[1..(1 + field)], Y = point[(1 + field)..] } });
    }

    /// <summary>Generates the issuing key pair on the token: private key sensitive, not extractable, for signing only.</summary>
    public static IObjectHandle Generate(ISession session, Pkcs11KeyOptions options)
    {
        byte[] id = options.KeyId is { Length: > 0 } hex ? Convert.FromHexString(hex) : RandomNumberGenerator.GetBytes(16);
        var publicTemplate = new List<IObjectAttribute>
        {
            Attribute(CKA.CKA_TOKEN, true),
            Attribute(CKA.CKA_PRIVATE, false),
            Attribute(CKA.CKA_VERIFY, true),
            Attribute(CKA.CKA_ID, id),
        };
        var privateTemplate = new List<IObjectAttribute>
        {
            Attribute(CKA.CKA_TOKEN, true),
            Attribute(CKA.CKA_PRIVATE, true),
            Attribute(CKA.CKA_SENSITIVE, true),
            Attribute(CKA.CKA_EXTRACTABLE, false),
            Attribute(CKA.CKA_SIGN, true),
            Attribute(CKA.CKA_DECRYPT, false),
            Attribute(CKA.CKA_ID, id),
        };
        if (options.KeyLabel is { Length: > 0 } label)
        {
            publicTemplate.Add(Attribute(CKA.CKA_LABEL, label));
            privateTemplate.Add(Attribute(CKA.CKA_LABEL, label));
        }

        CKM mechanism;
        switch (options.KeyType)
        {
            case Pkcs11KeyType.EcP256:
            case Pkcs11KeyType.EcP384:
                mechanism = CKM.CKM_EC_KEY_PAIR_GEN;
                var writer = new AsnWriter(AsnEncodingRules.DER);
                writer.WriteObjectIdentifier(options.KeyType == Pkcs11KeyType.EcP256 ? P256 : P384);
                publicTemplate.Add(Attribute(CKA.CKA_EC_PARAMS, writer.Encode()));
                break;
            default:
                mechanism = CKM.CKM_RSA_PKCS_KEY_PAIR_GEN;
                publicTemplate.Add(Attribute(CKA.CKA_MODULUS_BITS, options.KeyType == Pkcs11KeyType.Rsa2048 ? 2048UL : 3072UL));
                publicTemplate.Add(Attribute(CKA.CKA_PUBLIC_EXPONENT, new byte[] { 0x01, 0x00, 0x01 }));
                break;
        }

        using IMechanism generate = Pkcs11Module.Factories.MechanismFactory.Create(mechanism);
        session.GenerateKeyPair(generate, publicTemplate, privateTemplate, out _, out IObjectHandle privateKey);
        return privateKey;
    }

    /// <summary>Return values after which the session, or the token behind it, is gone: reconnect.</summary>
    public static bool MeansLost(CKR rv) => rv is CKR.CKR_SESSION_HANDLE_INVALID or CKR.CKR_SESSION_CLOSED or CKR.CKR_DEVICE_REMOVED or CKR.CKR_TOKEN_NOT_PRESENT
        or CKR.CKR_TOKEN_NOT_RECOGNIZED or CKR.CKR_DEVICE_ERROR or CKR.CKR_USER_NOT_LOGGED_IN or CKR.CKR_OBJECT_HANDLE_INVALID or CKR.CKR_KEY_HANDLE_INVALID
        or CKR.CKR_CRYPTOKI_NOT_INITIALIZED;

    /// <summary>The attributes the issuing key has: its label, its id, or both.</summary>
    public static List<IObjectAttribute> Selector(Pkcs11KeyOptions options)
    {
        var selector = new List<IObjectAttribute>();
        if (options.KeyLabel is { Length: > 0 } label)
        {
            selector.Add(Attribute(CKA.CKA_LABEL, label));
        }

        if (options.KeyId is { Length: > 0 } id)
        {
            selector.Add(Attribute(CKA.CKA_ID, Convert.FromHexString(id)));
        }

        return selector;
    }

    private static int FieldLength(ECCurve curve) => curve.Oid.Value switch
    {
        P256 => 32,
        P384 => 48,
        _ => 66,
    };

    private static IObjectAttribute Attribute(CKA type, bool value) => Pkcs11Module.Factories.ObjectAttributeFactory.Create(type, value);

    private static IObjectAttribute Attribute(CKA type, ulong value) => Pkcs11Module.Factories.ObjectAttributeFactory.Create(type, value);

    private static IObjectAttribute Attribute(CKA type, CKO value) => Pkcs11Module.Factories.ObjectAttributeFactory.Create(type, value);

    private static IObjectAttribute Attribute(CKA type, CKK value) => Pkcs11Module.Factories.ObjectAttributeFactory.Create(type, value);

    private static IObjectAttribute Attribute(CKA type, string value) => Pkcs11Module.Factories.ObjectAttributeFactory.Create(type, value);

    private static IObjectAttribute Attribute(CKA type, byte[] value) => Pkcs11Module.Factories.ObjectAttributeFactory.Create(type, value);
}
