using System.Runtime.InteropServices;

namespace CoapEnroll.Est.Tests;

/// <summary>
/// application/multipart-core (RFC 8710) on System.Formats.Cbor: the RFC 9148 example, shortest heads at every size boundary
/// (RFC 8949 §4.2.1), and a specific reason for each refusal, whether our check or the reader's conformance mode refuses.
/// </summary>
public sealed class MultipartCoreTests
{
    [Fact]
    public void Multipart_core_matches_rfc_9148_figure_2()
    {
        byte[] encoded = MultipartCore.Encode([new(284, Convert.FromHexString("0123456789ABCDEF")), new(281, Convert.FromHexString("FEDCBA9876543210"))]);
        Assert.Equal("8419011C480123456789ABCDEF19011948FEDCBA9876543210", Convert.ToHexString(encoded));
        Assert.True(MultipartCore.TryDecode(encoded, out var parts, out _));
        Assert.Equal([284, 281], parts.Select(p => p.ContentFormat));
        Assert.Equal(Convert.FromHexString("FEDCBA9876543210"), parts[1].Data.ToArray());
    }

    // The heads RFC 8949 §3.1 gives each value: immediate below 24, then one, two and four argument bytes.
    [Theory]
    [InlineData(0, 0, "00", "40")]
    [InlineData(23, 23, "17", "57")]
    [InlineData(24, 24, "1818", "5818")]
    [InlineData(255, 255, "18FF", "58FF")]
    [InlineData(256, 256, "190100", "590100")]
    [InlineData(65535, 65535, "19FFFF", "59FFFF")]
    [InlineData(60, 65536, "183C", "5A00010000")]
    public void Multipart_core_writes_shortest_heads_and_reads_them_back(int contentFormat, int length, string formatHead, string lengthHead)
    {
        byte[] data = new byte[length];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = (byte)(i % 251);
        }

        byte[] encoded = MultipartCore.Encode([new(contentFormat, data)]);
        Assert.Equal("82" + formatHead + lengthHead, Convert.ToHexString(encoded, 0, 1 + (formatHead.Length + lengthHead.Length) / 2));
        Assert.Equal(data, encoded[^length..]);
        Assert.True(MultipartCore.TryDecode(encoded, out var parts, out string? error), error);
        Assert.Equal(contentFormat, Assert.Single(parts).ContentFormat);
        Assert.Equal(data, parts[0].Data.ToArray());
    }

    [Fact]
    public void Multipart_core_decodes_representations_as_slices_of_the_body()
    {
        byte[] body = MultipartCore.Encode([new(284, new byte[] { 1, 2, 3 }), new(281, new byte[] { 4, 5 })]);
        Assert.True(MultipartCore.TryDecode(body, out var parts, out _));
        Assert.True(MemoryMarshal.TryGetArray(parts[1].Data, out ArraySegment<byte> segment));
        Assert.Same(body, segment.Array);
        Assert.Equal(body.Length - 2, segment.Offset);
        Assert.Equal(2, segment.Count);
    }

    [Fact]
    public void Multipart_core_allows_an_empty_collection_and_at_most_MaxParts_parts()
    {
        Assert.Equal("80", Convert.ToHexString(MultipartCore.Encode([])));
        Assert.True(MultipartCore.TryDecode(new byte[] { 0x80 }, out var none, out _));
        Assert.Empty(none);

        MultipartCorePart[] most = [.. Enumerable.Range(0, MultipartCore.MaxParts).Select(i => new MultipartCorePart(i, new byte[] { (byte)i }))];
        Assert.True(MultipartCore.TryDecode(MultipartCore.Encode(most), out var parts, out _));
        Assert.Equal(most.Select(p => p.ContentFormat), parts.Select(p => p.ContentFormat));

        Assert.False(MultipartCore.TryDecode(MultipartCore.Encode([.. most, new(99, new byte[] { 9 })]), out _, out string? error));
        Assert.Equal($"multipart-core has more than {MultipartCore.MaxParts} parts", error);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(65536)]
    public void Multipart_core_refuses_to_encode_a_content_format_beyond_16_bits(int contentFormat)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => MultipartCore.Encode([new(contentFormat, new byte[] { 1 })]));
    }

    [Theory]
    // Our checks.
    [InlineData("83011C40", "multipart-core array has an odd number of items")]
    [InlineData("8219011C40FF", "1 bytes follow the multipart-core array")]         // trailing data (a break byte)
    [InlineData("800000", "2 bytes follow the multipart-core array")]               // a second root item
    [InlineData("821A0001000040", "part 0: the Content-Format must be an unsigned integer 0..65535, found 65536")]
    [InlineData("821B000000010000000040", "part 0: the Content-Format must be an unsigned integer 0..65535, found 4294967296")]
    [InlineData("822040", "part 0: the Content-Format must be an unsigned integer 0..65535, found a negative integer")]
    [InlineData("825B00000000FFFFFFFF40", "part 0: the Content-Format must be an unsigned integer 0..65535, found a byte string")]
    [InlineData("8219011C60", "part 0: the representation must be a byte string, found a text string")]
    [InlineData("8219011C5F40FF", "part 0: the representation must be a byte string, found an indefinite-length byte string")]
    [InlineData("8219011CD84040", "part 0: the representation must be a byte string, found a tag")]
    [InlineData("82D81819011C40", "part 0: the Content-Format must be an unsigned integer 0..65535, found a tag")]
    [InlineData("8219011CF6", "part 0: the representation is null")]               // RFC 8710 §2 allows it; EST does not
    [InlineData("A0", "multipart-core must be a CBOR array, found a map")]
    // The reader: malformed input.
    [InlineData("", "the array head is not well-formed CBOR")]
    [InlineData("8219011C4901", "part 0: the representation is not well-formed CBOR")]  // byte string longer than the input
    [InlineData("8219011C5B0000000100000000", "part 0: the representation is not well-formed CBOR")]
    [InlineData("821901", "part 0: the Content-Format is not well-formed CBOR")]         // truncated inside the head
    // The reader: what its conformance mode (Ctap2Canonical) refuses.
    [InlineData("9F19011C40FF", "the array head is not well-formed CBOR in deterministic encoding (RFC 8949 §4.2.1): ", "indefinite-length")]
    [InlineData("82181740", "part 0: the Content-Format is not well-formed CBOR in deterministic encoding (RFC 8949 §4.2.1): ", "non-canonical")]
    [InlineData("8219000140", "part 0: the Content-Format is not well-formed CBOR in deterministic encoding (RFC 8949 §4.2.1): ", "non-canonical")]
    [InlineData("98020140", "the array head is not well-formed CBOR in deterministic encoding (RFC 8949 §4.2.1): ", "non-canonical")]
    [InlineData("8219011C5800", "part 0: the representation is not well-formed CBOR in deterministic encoding (RFC 8949 §4.2.1): ", "non-canonical")]
    [InlineData("8219011C5B00000000FFFFFFFF", "part 0: the representation is not well-formed CBOR in deterministic encoding (RFC 8949 §4.2.1): ", "non-canonical")]
    public void Multipart_core_rejects_malformed_input(string hex, string reason, string? readerReason = null)
    {
        Assert.False(MultipartCore.TryDecode(Convert.FromHexString(hex), out var parts, out string? error));
        Assert.Empty(parts);
        Assert.NotNull(error);
        Assert.StartsWith(reason, error, StringComparison.Ordinal);
        if (readerReason is not null)
        {
            Assert.Contains(readerReason, error[reason.Length..], StringComparison.Ordinal);
        }
    }
}
