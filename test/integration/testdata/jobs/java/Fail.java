/** Fail is a driver that fails. */
public class Fail {
  public static void main(String[] args) {
    System.err.println("fail: failing on purpose");
    throw new IllegalStateException("this job fails on purpose");
  }
}
