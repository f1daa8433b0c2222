namespace CoapEnroll.Dtls;

/// <summary>An alert record body (RFC 5246 §7.2): level(1) description(1), exactly two bytes.</summary>
internal readonly record struct DtlsAlert(AlertLevel Level, AlertDescription Description)
{
    public const int Size = 2;

    public bool IsFatal => Level == AlertLevel.Fatal;

    /// <summary>Parses exactly two bytes; unknown levels are rejected, unknown descriptions kept raw.</summary>
    public static bool TryParse(ReadOnlySpan<byte> body, out DtlsAlert alert)
    {
        alert = default;
        if (body.Length != Size || (body[0] != (byte)AlertLevel.Warning && body[0] != (byte)AlertLevel.Fatal))
        {
            return false;
        }

        alert = new DtlsAlert((AlertLevel)body[0], (AlertDescription)body[1]);
        return true;
    }

    public void WriteTo(Span<byte> destination)
    {
        destination[0] = (byte)Level;
        destination[1] = (byte)Description;
    }
}
