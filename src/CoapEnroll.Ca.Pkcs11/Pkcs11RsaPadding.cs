namespace CoapEnroll.Ca.Pkcs11;

/// <summary>How an RSA key on the token signs (<c>Ca:Pkcs11:RsaPadding</c>).</summary>
public enum Pkcs11RsaPadding
{
    /// <summary>RSASSA-PKCS1-v1_5 (CKM_RSA_PKCS over a DigestInfo computed on the host).</summary>
    Pkcs1,

    /// <summary>RSASSA-PSS with MGF1 and a salt as long as the hash (CKM_RSA_PKCS_PSS, RFC 4055).</summary>
    Pss,
}
