namespace CoapEnroll.Cmp;

/// <summary>What signs the CMP server's signed answers (<c>Cmp:ProtectionKey</c>).</summary>
public enum CmpProtectionKeySource
{
    /// <summary>The server credential (DIR/server.pem and its key file).</summary>
    Server,

    /// <summary>The issuing CA's key, wherever <c>Ca:KeyProvider</c> keeps it; its certificate must allow digitalSignature.</summary>
    Ca,
}
