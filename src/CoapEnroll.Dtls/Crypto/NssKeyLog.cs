namespace CoapEnroll.Dtls;

/// <summary>
/// NSS key log lines (the SSLKEYLOGFILE format Wireshark/tshark read) for TLS 1.2:
/// <c>CLIENT_RANDOM &lt;64 hex client_random&gt; &lt;96 hex master_secret&gt;</c>. Writing them anywhere is
/// opt-in and exposes the session; this type only formats.
/// </summary>
internal static class NssKeyLog
{
    /// <summary>Formats one line (without a trailing newline), lower-case hex.</summary>
    public static string FormatClientRandom(ReadOnlySpan<byte> clientRandom, ReadOnlySpan<byte> masterSecret)
    {
        if (clientRandom.Length != DtlsKeySchedule.RandomLength || masterSecret.Length != DtlsKeySchedule.MasterSecretLength)
        {
            throw new ArgumentException("client_random is 32 bytes and the master secret 48.");
        }

        return "CLIENT_RANDOM " + Convert.ToHexStringLower(clientRandom) + " " + Convert.ToHexStringLower(masterSecret);
    }
}
