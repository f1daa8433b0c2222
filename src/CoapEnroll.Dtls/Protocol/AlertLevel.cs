namespace CoapEnroll.Dtls;

/// <summary>Alert levels (RFC 5246 §7.2).</summary>
internal enum AlertLevel : byte
{
    Warning = 1,
    Fatal = 2,
}
