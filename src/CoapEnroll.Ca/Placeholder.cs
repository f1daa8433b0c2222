namespace CoapEnroll.Ca; internal static class Placeholder { }
