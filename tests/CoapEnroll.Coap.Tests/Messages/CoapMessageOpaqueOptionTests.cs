namespace CoapEnroll.Coap.Tests.Messages;

public class CoapMessageOpaqueOptionTests
{
    [Fact]
    public void ETagAndRequestTag_AreNullWhenAbsent()
    {
        var message = CoapMessage.CreateRequest(CoapCode.Get, "/a");
        Assert.Null(message.ETag);
        Assert.Null(message.RequestTag);
    }

    [Fact]
    public void ETagAndRequestTag_ReturnTheirValueWhenPresent()
    {
        var message = CoapMessage.CreateRequest(CoapCode.Get, "/a")
            .WithOption(new CoapOption(CoapOptionNumber.ETag, new byte[] { 1, 2 }))
            .WithOption(CoapOption.Empty(CoapOptionNumber.RequestTag));
        Assert.Equal(new byte[] { 1, 2 }, message.ETag!.Value.ToArray());
        Assert.True(message.RequestTag.HasValue);
        Assert.True(message.RequestTag.Value.IsEmpty);
    }
}
