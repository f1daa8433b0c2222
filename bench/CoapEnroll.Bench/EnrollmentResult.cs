namespace CoapEnroll.Bench;

/// <summary>One EST enrollment of <see cref="EnrollmentProbe"/>: whether a certificate came back, the handshake and total time, and the serial or the error.</summary>
internal sealed record EnrollmentResult(bool Issued, double HandshakeMs, double TotalMs, string Detail);
