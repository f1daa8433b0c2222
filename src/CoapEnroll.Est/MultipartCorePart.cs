namespace CoapEnroll.Est;

/// <summary>One representation in an application/multipart-core collection (RFC 8710 §2): its Content-Format and its bytes.</summary>
/// <param name="ContentFormat">The CoAP Content-Format number (0..65535).</param>
/// <param name="Data">The representation (raw DER for the EST formats, RFC 9148 §4.3).</param>
public readonly record struct MultipartCorePart(int ContentFormat, ReadOnlyMemory<byte> Data);
