/** Sleep is a driver that runs for args[0] seconds (600 by default), or until it is killed. */
public class Sleep {
  public static void main(String[] args) throws Exception {
    long seconds = args.length > 0 ? Long.parseLong(args[0]) : 600;
    System.out.println("sleep: sleeping " + seconds + " s");
    Thread.sleep(seconds * 1000);
  }
}
