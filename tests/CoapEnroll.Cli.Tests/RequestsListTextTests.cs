using System.Formats.Asn1;
using System.Security.Cryptography;
using CoapEnroll.Ca;
using CoapEnroll.Cli.Enrollment;
using CoapEnroll.Testing;

namespace CoapEnroll.Cli.Tests;

/// <summary>
/// What <c>coapenroll requests list</c> prints of text that came from devices: one line and one column per cell, nothing invisible
/// (escaped as \u{XXXX}, a backslash as \\), and a subject the platform cannot print still shown, as the hex of its DER.
/// </summary>
public sealed class RequestsListTextTests
{
    [Theory]
    [InlineData("CN=demo-device-1", "CN=demo-device-1")]
    [InlineData("CN=a\0b", @"CN=a\u{0000}b")]
    [InlineData("a\tb\nc\rd", @"a\u{0009}b\u{000A}c\u{000D}d")]
    [InlineData("del\u007F c1\u0085", @"del\u{007F} c1\u{0085}")]
    [InlineData("\u202Eevil", @"\u{202E}evil")]
    [InlineData("line\u2028sep", @"line\u{2028}sep")]
    [InlineData(@"back\slash \u{0000}", @"back\\slash \\u{0000}")]
    [InlineData("Zürich 東京 🙂", "Zürich 東京 🙂")]
    public void Cells_show_what_cannot_be_seen_as_escapes(string text, string shown) => Assert.Equal(shown, RequestsCommand.Cell(text));

    [Fact]
    public void An_unpaired_surrogate_is_escaped()
    {
        // Built at run time: an attribute argument cannot carry an unpaired surrogate.
        string text = "lone " + (char)0xD800 + " surrogate";
        Assert.Equal(@"lone \u{D800} surrogate", RequestsCommand.Cell(text));
    }

    [Fact]
    public void A_subject_the_platform_cannot_print_is_shown_as_its_DER()
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] subject = Pkcs10Builder.Name((Pkcs10Builder.CommonName, UniversalTagNumber.UTF8String, [0x61, 0xC3, 0x28]));
        string shown = RequestsCommand.SubjectOf(Stored(new Pkcs10Builder(key) { Subject = subject }.Build()));
        Assert.Equal($"(undecodable subject, DER #{Convert.ToHexString(subject)})", shown);

        Assert.Equal("(empty subject)", RequestsCommand.SubjectOf(Stored(new Pkcs10Builder(key) { Subject = [0x30, 0x00] }.Build())));
        Assert.Equal("(unreadable request)", RequestsCommand.SubjectOf(Stored([0x30, 0x03, 0x02, 0x01, 0x00])));
        Assert.Equal("CN=demo-device-1", RequestsCommand.SubjectOf(Stored(new Pkcs10Builder(key).Build())));
    }

    private static StoredRequest Stored(byte[] der) => new() { CsrDer = der, Requester = "test", Protocol = "test", Profile = "default" };
}
