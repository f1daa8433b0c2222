using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Cmp.Tests;

/// <summary>messageTime as peers send it: GeneralizedTime with and without fractional seconds (X.690 §11.7: DER fractions carry no trailing zeros).</summary>
public sealed class MessageTimeTests
{
    /// <summary>A pkiconf whose header carries the given GeneralizedTime text as messageTime.</summary>
    private static byte[] WithMessageTime(string time)
    {
        var template = new PkiMessage
        {
            Header = new PkiHeader
            {
                Sender = CmpGeneralName.FromDirectoryName(new X500DistinguishedName("CN=ca")),
                Recipient = CmpGeneralName.FromDirectoryName(new X500DistinguishedName("CN=dev")),
                TransactionId = new byte[16],
            },
            Body = new PkiConfBody(),
        };
        AsnReader message = new AsnReader(PkiMessageCodec.Encode(template), AsnEncodingRules.DER).ReadSequence();
        AsnReader header = message.ReadSequence();
        ReadOnlyMemory<byte> body = message.ReadEncodedValue();
        var w = new AsnWriter(AsnEncodingRules.DER);
        w.PushSequence();
        w.PushSequence();
        w.WriteEncodedValue(header.ReadEncodedValue().Span); // pvno
        w.WriteEncodedValue(header.ReadEncodedValue().Span); // sender
        w.WriteEncodedValue(header.ReadEncodedValue().Span); // recipient
        var ctx0 = new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true);
        w.PushSequence(ctx0);
        byte[] text = System.Text.Encoding.ASCII.GetBytes(time);
        w.WriteEncodedValue([0x18, (byte)text.Length, .. text]);
        w.PopSequence(ctx0);
        while (header.HasData)
        {
            w.WriteEncodedValue(header.ReadEncodedValue().Span);
        }

        w.PopSequence();
        w.WriteEncodedValue(body.Span);
        w.PopSequence();
        return w.Encode();
    }

    [Theory]
    [InlineData("20261205123456Z", 0L)]
    [InlineData("20261205123456.5Z", 5_000_000L)]
    [InlineData("20261205123456.123Z", 1_230_000L)]
    [InlineData("20261205123456.1234567Z", 1_234_567L)]
    public void FractionalSecondsDecode(string time, long fractionTicks)
    {
        byte[] der = WithMessageTime(time);
        CmpDecodeResult r = PkiMessageCodec.Decode(der);
        Assert.True(r.IsSuccess, r.Reason);
        Assert.Equal(new DateTimeOffset(2026, 12, 5, 12, 34, 56, TimeSpan.Zero).AddTicks(fractionTicks), r.Message.Header.MessageTime);
        Assert.Equal(der, PkiMessageCodec.Encode(r.Message));
    }

    [Fact]
    public void FractionsFinerThanATickDecodeAndKeepTheirBytes()
    {
        byte[] der = WithMessageTime("20261205123456.123456789Z");
        CmpDecodeResult r = PkiMessageCodec.Decode(der);
        Assert.True(r.IsSuccess, r.Reason);
        Assert.Equal(new DateTimeOffset(2026, 12, 5, 12, 34, 56, TimeSpan.Zero).AddTicks(1_234_567), r.Message.Header.MessageTime);
        Assert.Equal(der, PkiMessageCodec.Encode(r.Message));
        Assert.True(r.Message.GetProtectedPart().AsSpan().IndexOf("123456789"u8) > 0);
    }

    [Theory]
    [InlineData("20261205123456.50Z")] // trailing zero
    [InlineData("20261205123456.Z")] // no digits
    [InlineData("20261205123456,5Z")] // comma
    [InlineData("20261205123456.5")] // no Z
    [InlineData("20261205123456+0100")]
    [InlineData("202612051234Z")] // no seconds
    public void NonDerTimesAreRefused(string time)
    {
        CmpDecodeResult r = PkiMessageCodec.Decode(WithMessageTime(time));
        Assert.False(r.IsSuccess);
        Assert.NotNull(r.Reason);
    }
}
